//! The model scenario's regression seeds: every seed that ever failed stays here, with
//! what it found, and runs in every batch (`tests/sim.rs`, the soak runner).

/// How many of the first [`SEEDS`] predate BUGGIFY: they run with it off, as they
/// ran when they failed; seeds added after them run as the seed draws.
pub const BEFORE_BUGGIFY: usize = 34;

/// Seeds that always run (add any seed that ever failed, once it is fixed).
pub const SEEDS: &[u64] = &[
    0,
    1,
    2,
    3,
    42,
    1234,
    0xdead_beef,
    0x5eed_0000_0000_0001,
    17_446_744_073_709_551_615,
    // RANDOMKEY deleted an expired key it drew: the model must allow for it.
    7_646_011_739_000_364_307,
    // ZUNION over nine missing keys: qsort's order among equal inputs is not a choice.
    1_374_798_215_072_954_918,
    // SCAN TYPE on expired keys of other types (DBSIZE one above the model's before
    // the core looked keys up in SCAN TYPE).
    4_000_095_288_686_162_183,
    // A hash-table set rebuilt as an intset, a path the coverage seeds may miss.
    100_042,
    // SPOP rebuilding a hash-table set as a listpack, a path the coverage seeds miss.
    268,
    // COPY ... REPLACE inside EXEC re-adding a key a BRPOPLPUSH waited for.
    16_380_108_380_745_782_826,
    // COPY onto an existing key (reply :0) counted as readying a blocked BZMPOP.
    18_088_505_014_277_522_955,
    4_409_885_066_655_281_573,
    // SET ... EXAT in the past over a key a BZMPOP waited for: a string readies
    // nothing, so the expired key stays until expiry reaches it.
    14_524_174_164_870_444_188,
    // SWAPDB readied two keys a BZMPOP waited for: Redis walks its blocking-keys
    // dict, so which one serves the client is open.
    16_426_365_246_473_111_959,
    // SWAPDB inside EXEC brought in a hash at a key a BLMOVE waited for, then SORT
    // ... STORE overwrote it with a list: the swap signals only a list or a sorted
    // set, the overwrite nothing, so the client stays blocked.
    16_476_461_254_974_717_745,
    // SINTERSTORE onto a key past its deadline: setKey's lookupKeyWrite expires it
    // (a lazy `expired` before `new` and `sinterstore`), as for every STORE.
    8_687_906_477_482_095_476,
    // A pub/sub `PSUBSCRIBE *` subscriber got `__keyspace@1__` expiries of keys a
    // SWAPDB had moved to db 1: active expiry notifies in every database.
    14_936_008_187_931_541_624,
    // SET ... EX XX EX 3: a deadline option takes the next argument (XX here), so
    // the SET is no SET XX and notifies `set` and `expire` of a missing key.
    167_042_151_981_744_243,
    // SWAPDB readied keys a BRPOPLPUSH and a BZPOPMIN waited for: the serves'
    // notifications come in the blocking-keys dict's order, which is open.
    18_179_670_682_312_807_123,
    // A random SSCAN naming the pending cursor with another MATCH is another scan.
    409_913_602_073_635_674,
    // SET ... EX GET EX 3: GET is the first EX's argument, so no GET and no keymiss.
    11_810_140_997_300_193_811,
    // BITFIELD whose INCRBY set a bit that its SET cleared again: each write that
    // changed its field counts, so `setbit` is notified though the string is as it was.
    17_935_469_738_196_069_872,
    // SWAPDB moved a key between two databases while it was owed an expiry in
    // both: a subscriber's `expired` took one of its states, not all of them.
    11_547_741_074_613_814_459,
    // SWAPDB in EXEC readied a list a BLMPOP waited for and one a BRPOPLPUSH into
    // that list waited for: served in the other order, the BLMPOP pops another head.
    15_330_530_724_284_403_652,
    // SWAPDB in EXEC readied two lists whose BRPOPLPUSH clients both push onto
    // user:22: the replies are the same in either order, the list is not.
    14_950_239_041_391_170_745,
    // SORT ... BY read missing keys while an active expiry was owed to the
    // subscriber: the expiry's frame came first, ahead of the keymiss run.
    18_376_277_479_695_871_824,
    // A SET ... EXAT in the past, then active expiry in the same step as a PUBLISH:
    // the subscriber got the owed `expired` ahead of the message.
    1_534_535_814_677_350_364,
    // A pop blocked on a list got a null before its deadline: not a timeout seen
    // while serving a ZADD on its key, but a CLIENT UNBLOCK later in the group.
    5_914_615_981_831_399_741,
    // SMOVE from a key of another type: Redis looks the destination up before it
    // checks either type, so an expired destination is deleted and notified.
    14_063_355_802_395_030_473,
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_seeds_before_buggify_are_a_prefix() {
        assert!(super::BEFORE_BUGGIFY <= super::SEEDS.len());
    }
}
