//! Integration tests of tandem-consensus: seeded simulations of several validators in one process,
//! with Byzantine peers among them, fuzzing of the block codec, and block building under load.
mod adversary;
mod build;
mod codec;
mod sim;
