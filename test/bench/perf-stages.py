#!/usr/bin/env python3
"""perf-stages.py: where the time of an ignity boot goes, from perf's scheduler events.

Record boots of TestBootLoop (see bench_test.go) system-wide, then read them back:

    go test -c -o /tmp/bench.test ./test/bench/
    cd test/bench && IGNITY_BENCH_LOOP=30 [IGNITY_BENCH_LOOP_TMPFS=1] [IGNITY_BENCH_LOOP_TERM=300] \\
      perf record -a -o /tmp/boots.data -e sched:sched_process_fork,sched:sched_process_exec \\
        -e sched:sched_process_exit,sched:sched_switch,signal:signal_generate,syscalls:sys_enter_ppoll \\
        -- /tmp/bench.test -test.run TestBootLoop
    perf script -i /tmp/boots.data -F comm,pid,tid,cpu,time,event,trace > /tmp/boots.txt
    python3 perf-stages.py /tmp/boots.txt /tmp/bench.test

Only the processes descending from the test binary count, so other work on the machine is
left out (though it still delays what is measured). For every boot it takes the time of each
milestone (an exec, an exit, a signal) and the on-CPU time of each program image (from
sched_switch), and prints medians over the boots: the length of each stage, a timeline, and
what each program costs in CPU.
"""
import collections
import re
import statistics
import sys

LINE = re.compile(r'^\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$')

# Stages, as (name, from milestone, to milestone, kind): kind 'cycle' for boots whose CMD
# exits by itself (`/init true`), 'stop' for boots stopped with SIGTERM, '' for both.
STAGES = [
    ('harness: its child starts → exec /init', 'exec harness child', 'exec stage1', ''),
    ('stage1: exec /init → exec s6-svscan', 'exec stage1', 'exec s6-svscan', ''),
    ('s6-svscan start: exec → first ppoll (listening)', 'exec s6-svscan', 's6-svscan polls', ''),
    ('stage2: exec → exec CMD', 'exec stage2', 'exec CMD', ''),
    ('stage2: exec CMD → exec wait (the waiter)', 'exec CMD', 'exec wait', ''),
    ('boot: exec /init → exec CMD', 'exec stage1', 'exec CMD', ''),
    ('CMD: exec → exit', 'exec CMD', 'exit CMD', 'cycle'),
    ('cmd-exit: CMD exit → SIGABRT', 'exit CMD', 'SIGABRT', 'cycle'),
    ('s6-svscan: SIGABRT → exec finish', 'SIGABRT', 'exec stage3', 'cycle'),
    ('stage3: exec finish → PID 1 exit', 'exec stage3', 'exit PID 1', 'cycle'),
    ('stop: SIGTERM → exec SIGTERM handler', 'SIGTERM', 'exec SIGTERM handler', 'stop'),
    ('stop: exec SIGTERM handler → SIGABRT', 'exec SIGTERM handler', 'SIGABRT', 'stop'),
    ('stop: SIGABRT → exec finish (stage3)', 'SIGABRT', 'exec stage3', 'stop'),
    ('stop: exec stage3 → CMD exits', 'exec stage3', 'exit CMD', 'stop'),
    ('stop: CMD exits → exec cmd-exit', 'exit CMD', 'exec cmd-exit', 'stop'),
    ('stop: exec cmd-exit → waiter exits', 'exec cmd-exit', 'exit cmd-exit', 'stop'),
    ('stop: waiter exits → PID 1 exit', 'exit cmd-exit', 'exit PID 1', 'stop'),
    ('stop: SIGTERM → PID 1 exit', 'SIGTERM', 'exit PID 1', 'stop'),
    ('total: harness child starts → PID 1 exit', 'exec harness child', 'exit PID 1', 'cycle'),
]


def label(path, pid, image, role):
    """Names the program image pid now runs, from the exec'd path and the process's history."""
    if path == '/proc/self/exe':
        # The harness child; busybox sh also re-executes itself this way for its applets.
        return 'harness child' if role.get(pid) == 'bench child' else 'busybox applet'
    if path == '/init':
        return 'stage1'
    if path == '/usr/bin/s6-svscan':
        return 's6-svscan'
    if path.endswith('.s6-svscan/finish') or path.endswith('.s6-svscan/crash'):
        return 'stage3'
    if path.endswith('.s6-svscan/SIGTERM'):
        return 'SIGTERM handler'
    if path == '/usr/lib/execline/bin/wait':
        return 'wait'
    if path == '/usr/bin/ignity':
        if image.get(pid) == 'wait':
            return 'cmd-exit'
        if role.get(pid) == 'stage1 child':
            return 'stage2'
    if role.get(pid) == 'stage2 child' and image.get(pid) == 'stage2 (forked)':
        return 'CMD'
    return path.rsplit('/', 1)[-1]


def main(trace, root_exe):
    tgid = {}                      # tid -> tgid
    parent = {}                    # tgid -> parent tgid, for our processes
    image, role = {}, {}           # tgid -> current image label; -> what forked it
    root = None
    boots = []
    milestones = collections.defaultdict(dict)
    oncpu = {}                     # cpu -> (tid, since)
    cputime = collections.defaultdict(float)

    def boot_of(p):
        for _ in range(1000):
            if parent.get(p) == root:
                return p
            if p not in parent:
                return None
            p = parent[p]
        return None

    def mark(b, key, t):
        if b is not None and key not in milestones[b]:
            milestones[b][key] = t

    for line in open(trace):
        m = LINE.match(line)
        if not m:
            continue
        _, pid, tid, cpu, t, event, rest = m.groups()
        pid, tid, cpu, t = int(pid), int(tid), int(cpu), float(t) * 1000
        tgid.setdefault(tid, pid)
        if event == 'sched:sched_process_exec':
            path = re.search(r'filename=(\S+)', rest).group(1)
            if root is None and path == root_exe:
                root = pid
                continue
            b = boot_of(pid) if root else None
            if b is None:
                continue
            image[pid] = label(path, pid, image, role)
            mark(b, 'exec ' + image[pid], t)
        elif event == 'sched:sched_process_fork' and root is not None:
            child = int(re.search(r'child_pid=(\d+)', rest).group(1))
            ptg = tgid.get(tid, pid)
            if ptg == root or ptg in parent:
                parent[child] = ptg
                role[child] = 'bench child' if ptg == root else image.get(ptg, '?') + ' child'
                image[child] = image.get(ptg, '?') + ' (forked)'
                if ptg == root:
                    boots.append(child)
        elif event == 'sched:sched_process_exit':
            if pid in parent and 'group_dead=true' in rest:
                b = boot_of(pid)
                mark(b, 'exit ' + image.get(pid, '?'), t)
                if pid == b:
                    mark(b, 'exit PID 1', t)
        elif event == 'signal:signal_generate':
            sig = re.search(r'\bsig=(\d+)', rest).group(1)
            target = int(re.search(r' pid=(\d+)', rest).group(1))
            if sig == '6' and pid in parent:
                mark(boot_of(pid), 'SIGABRT', t)
            elif sig == '15' and pid == root and target in parent:
                mark(boot_of(target), 'SIGTERM', t)
        elif event == 'syscalls:sys_enter_ppoll':
            if pid in parent and image.get(pid) == 's6-svscan':
                mark(boot_of(pid), 's6-svscan polls', t)
        elif event == 'sched:sched_switch':
            prev = int(re.search(r'prev_pid=(\d+)', rest).group(1))
            nxt = int(re.search(r'next_pid=(\d+)', rest).group(1))
            if cpu in oncpu and oncpu[cpu][0] == prev:
                tg = tgid.get(prev, prev)
                b = boot_of(tg) if tg in parent else None
                if b is not None:
                    cputime[(b, image.get(tg, '?'))] += t - oncpu[cpu][1]
            oncpu[cpu] = (nxt, t)

    boots = [b for b in boots if tgid.get(b, b) == b and 'exec stage1' in milestones[b]
             and 'exit PID 1' in milestones[b]]
    if not boots:
        sys.exit('no complete boot of /init found under ' + root_exe)
    med = statistics.median
    print(f'{len(boots)} boots; wall-clock ms, median (min–max)')
    stopped = sum('SIGTERM' in milestones[b] for b in boots) > len(boots) // 2
    for name, a, z, kind in STAGES:
        if kind and (kind == 'stop') != stopped:
            continue
        v = [milestones[b][z] - milestones[b][a] for b in boots if a in milestones[b] and z in milestones[b]]
        if len(v) >= len(boots) // 2:
            print(f'  {name:52s} {med(v):8.2f}  ({min(v):.2f}–{max(v):.2f})')
    print('timeline: median ms after exec /init')
    keys = collections.Counter(k for b in boots for k in milestones[b])
    rows = []
    for k, n in keys.items():
        if n >= len(boots) // 2:
            rows.append((med([milestones[b][k] - milestones[b]['exec stage1'] for b in boots if k in milestones[b]]), k))
    for t, k in sorted(rows):
        print(f'  {t:8.2f}  {k}')
    print('on-CPU ms per program image, median per boot (all its processes)')
    labels = {lab for (_, lab) in cputime}
    per = {lab: [cputime.get((b, lab), 0.0) for b in boots] for lab in labels}
    for lab in sorted(labels, key=lambda x: -med(per[x])):
        if med(per[lab]) >= 0.01:
            print(f'  {lab:30s} {med(per[lab]):8.2f}')
    print(f'  {"total":30s} {med([sum(per[lab][i] for lab in labels) for i in range(len(boots))]):8.2f}')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: perf-stages.py PERF_SCRIPT_OUTPUT TEST_BINARY')
    main(sys.argv[1], sys.argv[2])
