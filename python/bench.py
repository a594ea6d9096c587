#!/usr/bin/env python3
"""bench.py: the Python client's cost, against raw pyzmq, in one run.

  * request RTT: a Python window's request to a C main (prokit-test-cpeer,
    router embedded, over ipc) vs a raw pyzmq DEALER's round trip to a
    pyzmq ROUTER echo in another process (target: at most 1.3x);
  * pipelined requests per second from a Python window (PIPELINE in
    flight) vs raw pyzmq DEALER -> ROUTER echo with as many in flight
    (target: at least 0.7x).

Each figure is the best of five rounds, the two sides alternating, so that
neither gets a quieter machine; an RTT is the median of a round's requests.

    python3 python/bench.py [--build DIR] [--count N]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zmq  # noqa: E402

import prokit  # noqa: E402

PIPELINE = 200

ECHO = r"""
import sys, zmq
s = zmq.Context.instance().socket(zmq.ROUTER)
s.bind(sys.argv[1])
print("READY", flush=True)
while True:
    frames = s.recv_multipart()
    if frames[-1] == b"quit":
        break
    s.send_multipart(frames)
"""


def start_c_main(build: str, endpoint: str, workdir: str) -> subprocess.Popen:
    log = open(os.path.join(workdir, "cmain.log"), "w")
    proc = subprocess.Popen([os.path.join(build, "tests", "prokit-test-cpeer"), endpoint],
                            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while "READY" not in open(log.name).read():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the C main did not start")
        time.sleep(0.01)
    return proc


def median(samples: list) -> float:
    samples.sort()
    return samples[len(samples) // 2]


def prokit_rtt(window: prokit.Window, count: int) -> float:
    """The median of COUNT requests' round trips."""
    for _ in range(200):
        window.request(prokit.MAIN, "warm-up")
    clock, samples = time.perf_counter, []
    for _ in range(count):
        start = clock()
        window.request(prokit.MAIN, "0123456789abcdef")
        samples.append(clock() - start)
    return median(samples)


def prokit_pipelined(window: prokit.Window, count: int) -> float:
    done = [0]

    def finished(pending: prokit.PendingRequest) -> None:
        done[0] += 1

    sent = 0
    start = time.perf_counter()
    while done[0] < count:
        while sent < count and sent - done[0] < PIPELINE:
            window.request_async(prokit.MAIN, "0123456789abcdef", on_done=finished)
            sent += 1
        window.wait_for(lambda: (sent < count and sent - done[0] < PIPELINE // 2) or done[0] >= count)
    return count / (time.perf_counter() - start)


def raw_rtt(dealer: zmq.Socket, count: int) -> float:
    payload = b"\x00" * 30
    for _ in range(200):
        dealer.send(payload)
        dealer.recv()
    clock, samples = time.perf_counter, []
    for _ in range(count):
        start = clock()
        dealer.send(payload)
        dealer.recv()
        samples.append(clock() - start)
    return median(samples)


def raw_pipelined(dealer: zmq.Socket, count: int) -> float:
    payload = b"\x00" * 30
    sent = received = 0
    start = time.perf_counter()
    while received < count:
        while sent < count and sent - received < PIPELINE:
            dealer.send(payload)
            sent += 1
        while received < count and (sent - received >= PIPELINE // 2 or sent == count):
            dealer.recv()
            received += 1
    return count / (time.perf_counter() - start)


def c_reference(build: str) -> float:
    """The C client's RTT to a C main in this run, from prokit-bench, if built."""
    program = os.path.join(build, "bench", "prokit-bench")
    if not os.access(program, os.X_OK):
        return 0.0
    try:
        out = subprocess.run([program, "--profile", "rtt", "prokit", "20000"], capture_output=True,
                             text=True, timeout=120).stdout + ""
        rate = float(out.rsplit(",", 1)[1].split("/s")[0])
    except (subprocess.SubprocessError, IndexError, ValueError, OSError):
        return 0.0
    return 1.0 / rate


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.environ.get("PROKIT_BUILD_DIR", os.path.join(here, "..", "build")))
    parser.add_argument("--count", type=int, default=20000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="pkbench-") as workdir:
        endpoint = f"ipc://{workdir}/main.sock"
        cmain = start_c_main(args.build, endpoint, workdir)
        echo_ep = f"ipc://{workdir}/echo.sock"
        echo = subprocess.Popen([sys.executable, "-c", ECHO, echo_ep], stdout=subprocess.PIPE, text=True)
        echo.stdout.readline()
        try:
            window = prokit.Window("bench", endpoint=endpoint)
            dealer = zmq.Context.instance().socket(zmq.DEALER)
            dealer.connect(echo_ep)
            # alternate the two, best of five each, so that neither gets a quieter machine
            rtts, raws, rates, raw_rates = [], [], [], []
            for _ in range(5):
                rtts.append(prokit_rtt(window, args.count // 4))
                raws.append(raw_rtt(dealer, args.count // 4))
                rates.append(prokit_pipelined(window, args.count))
                raw_rates.append(raw_pipelined(dealer, args.count))
            rtt, raw, rate, raw_rate = min(rtts), min(raws), max(rates), max(raw_rates)
            window.close()
            dealer.send(b"quit")
            dealer.close()
        finally:
            cmain.terminate()
            cmain.wait()
            echo.wait(timeout=5)

    c_rtt = c_reference(args.build)
    print(f"request RTT p50, Python window -> C main:     {rtt * 1e6:8.1f} us")
    print(f"round trip p50, raw pyzmq DEALER <-> ROUTER:  {raw * 1e6:8.1f} us")
    print(f"  ratio {rtt / raw:.2f}x (target <= 1.3x)")
    if c_rtt:
        print(f"  for reference, a C window -> C main (prokit-bench --profile rtt, mean): "
              f"{c_rtt * 1e6:.1f} us")
    print(f"pipelined requests/s, Python window:          {rate:8.0f}")
    print(f"pipelined round trips/s, raw pyzmq:           {raw_rate:8.0f}")
    print(f"  ratio {rate / raw_rate:.2f}x (target >= 0.7x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
