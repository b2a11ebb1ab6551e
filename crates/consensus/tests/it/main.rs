//! Integration tests of tandem-consensus: seeded simulations of several validators in one process.
mod build;
mod sim;
