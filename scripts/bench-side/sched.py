#!/usr/bin/env python3
"""Runs a command and reports, summed over its threads, CPU time run, time runnable but waiting
for a CPU (the run queue), and the rest of thread-time (blocked: I/O, futex, epoll), from
/proc/<pid>/task/*/schedstat sampled every 20 ms (a thread's last sample counts)."""
import os, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
last = {}  # tid -> (run_ns, wait_ns, slices, first_seen, last_seen)
while p.poll() is None:
    now = time.monotonic()
    try:
        for tid in os.listdir(f'/proc/{p.pid}/task'):
            try:
                run, wait, slices = map(int, open(f'/proc/{p.pid}/task/{tid}/schedstat').read().split())
            except OSError:
                continue
            first = last.get(tid, (0, 0, 0, now, now))[3]
            last[tid] = (run, wait, slices, first, now)
    except OSError:
        pass
    time.sleep(0.02)
wall = time.monotonic() - t0
run = sum(v[0] for v in last.values()) / 1e9
wait = sum(v[1] for v in last.values()) / 1e9
alive = sum(v[4] - v[3] for v in last.values())
slices = sum(v[2] for v in last.values())
print(f'wall {wall:.2f} s, threads {len(last)}, on CPU {run:.2f} s, runnable waiting for a CPU {wait:.2f} s, time slices {slices}, rc {p.returncode}')
