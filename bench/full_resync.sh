#!/bin/bash
# Full resync time, every pairing of cinnabar-server and redis-server 7.0 as master and
# replica: the master holds N keys (DEBUG POPULATE, SIZE-byte values) and syncs to disk
# (no diskless sync on either side), no save points anywhere. Prints, per pairing, the
# time from starting the replica until its master_link_status is up (transfer and load
# included) and the replica's key count. Usage:
#   N=1000000 SIZE=100 bench/full_resync.sh          (N=10000000 SIZE=100: ~1 GB)
#   PAIRS="cinnabar:redis redis:redis" bench/full_resync.sh
N=${N:-1000000}; SIZE=${SIZE:-100}
BIN=${BIN:-target/release/cinnabar-server}
PAIRS=${PAIRS:-"cinnabar:redis redis:redis redis:cinnabar cinnabar:cinnabar"}
server_cmd() {
  case $1 in
    cinnabar) echo "$BIN" ;;
    redis) echo "redis-server --appendonly no --repl-diskless-sync no --repl-diskless-load disabled" ;;
  esac
}
run() {
  local master=$1 replica=$2 mport=$3 rport=$4
  local md=$(mktemp -d) rd=$(mktemp -d)
  $(server_cmd $master) --port $mport --save "" --dir $md --enable-debug-command yes >/dev/null 2>&1 &
  local mpid=$!
  until redis-cli -p $mport PING >/dev/null 2>&1; do sleep 0.05; done
  redis-cli -p $mport DEBUG POPULATE $N key $SIZE >/dev/null
  local used=$(redis-cli -p $mport INFO memory | grep '^used_memory:' | tr -d '\r' | cut -d: -f2)
  $(server_cmd $replica) --port $rport --save "" --dir $rd --replicaof 127.0.0.1 $mport >/dev/null 2>&1 &
  local rpid=$!
  local start=$(date +%s.%N)
  until redis-cli -p $rport INFO replication 2>/dev/null | grep -q 'master_link_status:up'; do sleep 0.02; done
  local end=$(date +%s.%N)
  local keys=$(redis-cli -p $rport DBSIZE)
  local rdb=$(stat -c %s $rd/dump.rdb 2>/dev/null)
  echo "master $master -> replica $replica: $N keys x $SIZE B, master used_memory $used B, rdb $rdb B, replica has $keys keys, full sync $(echo "$end - $start" | bc) s"
  kill $rpid $mpid; wait $rpid $mpid 2>/dev/null
  rm -rf $md $rd
}
port=7101
for pair in $PAIRS; do
  run ${pair%%:*} ${pair##*:} $port $((port + 1))
  port=$((port + 2))
done
