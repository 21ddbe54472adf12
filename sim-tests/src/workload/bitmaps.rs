//! Bitmaps: SETBIT and BITOP write only the `bits:*` keys (so that no string another
//! family reads as a number gets arbitrary bytes: see `numbers`), GETBIT, BITCOUNT
//! and BITPOS read those and any key (WRONGTYPE, strings of every encoding), with
//! byte and bit ranges of every sign and the error paths. BITFIELD with a write
//! subcommand (SET, INCRBY) goes to the `bits:*` keys only; BITFIELD with only GETs
//! and BITFIELD_RO (with a write now and then, which it refuses) read any key.

use super::{bytes, command_name, num, Arg, Template, WorkloadShape};
use crate::gen::Gen;

const BIT_KEYS: &[&str] = &["bits:a", "bits:b", "bits:c"];

fn bit_key(g: &mut Gen) -> Arg {
    bytes(*g.pick(BIT_KEYS))
}

fn any(g: &mut Gen, shape: &WorkloadShape) -> Arg {
    if g.chance(0.6) {
        bit_key(g)
    } else {
        shape.any_key(g)
    }
}

fn offset(g: &mut Gen) -> Arg {
    if g.chance(0.04) {
        return bytes(*g.pick(&["-1", "x", "4294967296"]));
    }
    num(g.range_i64(0, 70))
}

fn bound(g: &mut Gen) -> Arg {
    if g.chance(0.03) {
        return bytes("x");
    }
    num(g.range_i64(-12, 12))
}

/// A bitfield type: every width of both signs, and the invalid ones.
fn field_type(g: &mut Gen) -> Arg {
    if g.chance(0.04) {
        return bytes(*g.pick(&["u64", "i0", "i65", "x8", "", "U8"]));
    }
    let signed = g.chance(0.5);
    let bits = g.range_i64(1, if signed { 64 } else { 63 });
    let bits = if g.chance(0.5) {
        *g.pick(&[1, 8, 16, 32, if signed { 64 } else { 63 }])
    } else {
        bits
    };
    bytes(&format!("{}{bits}", if signed { 'i' } else { 'u' }))
}

fn field_offset(g: &mut Gen) -> Arg {
    match g.below(25) {
        0 => bytes(*g.pick(&["-1", "x", "#", "#-1", "4294967296"])),
        1..=6 => bytes(&format!("#{}", g.range(0, 4))),
        _ => num(g.range_i64(0, 80)),
    }
}

fn field_value(g: &mut Gen) -> Arg {
    match g.below(20) {
        0 => bytes("x"),
        1..=3 => bytes(*g.pick(&[
            "9223372036854775807",
            "-9223372036854775808",
            "4294967296",
            "-129",
            "255",
            "256",
        ])),
        _ => num(g.range_i64(-300, 300)),
    }
}

/// `BITFIELD key subcommand...`; `writes`: SET and INCRBY may be among them.
fn bitfield(g: &mut Gen, r: &mut Template, writes: bool) {
    for _ in 0..g.range(0, 4) {
        match g.below(if writes { 10 } else { 4 }) {
            0..=2 => r.extend([
                bytes(*g.pick(&["GET", "get"])),
                field_type(g),
                field_offset(g),
            ]),
            3 => {
                if g.chance(0.1) {
                    // Refused: a syntax error or, without enough arguments, the same.
                    r.push(bytes(*g.pick(&["GETX", "GET"])));
                    return;
                }
                r.extend([
                    bytes("OVERFLOW"),
                    bytes(*g.pick(&["WRAP", "sat", "FAIL", "fail", "bogus"])),
                ]);
            }
            4..=6 => r.extend([
                bytes(*g.pick(&["SET", "set"])),
                field_type(g),
                field_offset(g),
                field_value(g),
            ]),
            _ => r.extend([
                bytes(*g.pick(&["INCRBY", "incrby"])),
                field_type(g),
                field_offset(g),
                field_value(g),
            ]),
        }
    }
}

pub(super) fn request(g: &mut Gen, shape: &WorkloadShape) -> Template {
    let mut r = Vec::new();
    if g.chance(0.25) {
        match g.below(4) {
            0 | 1 => {
                r.extend([command_name(g, "BITFIELD"), bit_key(g)]);
                bitfield(g, &mut r, true);
            }
            2 => {
                r.extend([command_name(g, "BITFIELD"), any(g, shape)]);
                bitfield(g, &mut r, false);
            }
            _ => {
                // A write now and then, which BITFIELD_RO refuses after parsing.
                let writes = g.chance(0.2);
                let key = if writes { bit_key(g) } else { any(g, shape) };
                r.extend([command_name(g, "BITFIELD_RO"), key]);
                bitfield(g, &mut r, writes);
            }
        }
        return r;
    }
    match g.below(10) {
        0..=2 => {
            r.extend([command_name(g, "SETBIT"), bit_key(g), offset(g)]);
            r.push(bytes(*g.pick(&["1", "1", "0", "2", "x"])));
        }
        3 | 4 => r.extend([command_name(g, "GETBIT"), any(g, shape), offset(g)]),
        5 | 6 => {
            r.extend([command_name(g, "BITCOUNT"), any(g, shape)]);
            match g.below(5) {
                0 => {}
                1 => r.push(bound(g)),
                2 | 3 => r.extend([bound(g), bound(g)]),
                _ => r.extend([
                    bound(g),
                    bound(g),
                    bytes(*g.pick(&["BIT", "byte", "bit", "nibble"])),
                ]),
            }
        }
        7 => {
            r.extend([command_name(g, "BITPOS"), any(g, shape)]);
            r.push(bytes(*g.pick(&["0", "1", "1", "0", "2"])));
            match g.below(4) {
                0 => {}
                1 => r.push(bound(g)),
                2 => r.extend([bound(g), bound(g)]),
                _ => r.extend([
                    bound(g),
                    bound(g),
                    bytes(*g.pick(&["BIT", "byte", "bit", "nibble"])),
                ]),
            }
        }
        _ => {
            let op = *g.pick(&["AND", "OR", "XOR", "NOT", "not", "nand"]);
            r.extend([command_name(g, "BITOP"), bytes(op), bit_key(g)]);
            let n = if op.eq_ignore_ascii_case("not") && g.chance(0.9) {
                1
            } else {
                g.range(1, 3)
            };
            for _ in 0..n {
                r.push(any(g, shape));
            }
        }
    }
    r
}
