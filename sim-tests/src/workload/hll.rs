//! HyperLogLog: PFADD and PFMERGE write only the `hll:*` keys (the model keeps their
//! registers, not Redis's bytes, see `model::hll`); PFCOUNT and PFMERGE also read
//! keys of the other families (WRONGTYPE, strings that are not HLLs, missing keys).

use super::{bytes, command_name, Arg, Template, WorkloadShape};
use crate::gen::Gen;

const HLL_KEYS: &[&str] = &["hll:a", "hll:b", "hll:c"];

fn hll_key(g: &mut Gen) -> Arg {
    bytes(*g.pick(HLL_KEYS))
}

fn source(g: &mut Gen, shape: &WorkloadShape) -> Arg {
    if g.chance(0.85) {
        hll_key(g)
    } else {
        shape.any_key(g)
    }
}

pub(super) fn request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let mut r = Vec::new();
    match g.below(10) {
        0..=4 => {
            r.extend([command_name(g, "PFADD"), hll_key(g)]);
            for _ in 0..g.below(6) {
                // Up to a few hundred distinct elements per key.
                let e = if g.chance(0.3) {
                    g.pick(super::MEMBERS).to_string()
                } else {
                    format!("e{}", g.below(400))
                };
                r.push(bytes(&e));
            }
        }
        5..=7 => {
            r.push(command_name(g, "PFCOUNT"));
            for _ in 0..g.range(1, 3) {
                r.push(source(g, shape));
            }
        }
        _ => {
            r.extend([command_name(g, "PFMERGE"), hll_key(g)]);
            for _ in 0..g.below(3) {
                r.push(source(g, shape));
            }
        }
    }
    r
}
