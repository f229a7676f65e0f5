-- pgbench script for bench/holds.sh: the single-statement conditional UPDATE
-- that grants one seat, the database's floor under POST /holds. Each client
-- takes distinct seats (client c takes seats c*stride, c*stride+1, …) on the
-- flights bench/holds.sh inserts for it: flight fbase + i/1000, row
-- (i%1000)/10 + 1, letter (i%10)+1 of ABCDEFGHJK, the layout `loadgen
-- mkflights` generates. Variables: -D n=0 -D stride=N -D fbase=ID.
\set n :n + 1
\set i :client_id * :stride + :n
\set f :fbase + :i / 1000
\set r (:i % 1000) / 10 + 1
\set l :i % 10 + 1
UPDATE seats SET hold_id = 'pgb_' || :i, held_until = now() + interval '10 minutes'
 WHERE flight_id = :f AND label = :r || substr('ABCDEFGHJK', :l, 1)
   AND booking_id IS NULL AND (hold_id IS NULL OR held_until <= now());
