//! Integration tests of tandem-consensus: seeded simulations of several validators in one process,
//! with Byzantine peers among them.
mod adversary;
mod sim;
