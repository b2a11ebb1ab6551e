//! Integration tests of tandem-consensus: seeded simulations of several validators in one process,
//! with Byzantine peers among them, and fuzzing of the block codec.
mod adversary;
mod codec;
mod sim;
