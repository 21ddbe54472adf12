//! The collection value types and their encodings (Redis's t_hash.c, t_list.c,
//! t_set.c and t_zset.c data structures), separate from the commands that use them
//! (`cmd/`). Each type chooses its compact or big encoding with Redis's rules, reading
//! the thresholds from the config at the moment of each write.

pub mod hash;
pub mod list;
pub mod quicklist;
pub mod set;
pub mod skiplist;
pub mod zset;
