"""A Python window as main's createWindow starts it: no configuration but
the environment. Reports what it receives to main as requests
"got|<sender>|<text>|<0/1>" (as prokit-test-peer does); answers requests
"py:<text>"; "exit" from main makes it leave; main closing it ends it."""
import sys

import prokit

window = prokit.Window()
# One write per line: this process shares main's stdout, and a line
# written in pieces can interleave with main's own.
sys.stdout.write(f"READY {window.name} {window.is_shown}\n")
sys.stdout.flush()
done = []


def on_main(message):
    if message.payload == "exit":
        done.append(True)
        window.stop()
        return
    window.request(prokit.MAIN, f"got|{message.sender}|{message.payload}|{int(message.is_broadcast)}")


window.on_main_message(on_main)
window.on_visibility(lambda shown: window.request(prokit.MAIN, f"got|visibility|{int(shown)}|0"))
window.on_request(lambda request: f"py:{request.payload}")
closed = window.run()
window.close()
sys.stdout.write("CLOSED\n" if closed else "EXIT\n")
sys.stdout.flush()
