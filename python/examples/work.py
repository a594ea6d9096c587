#!/usr/bin/env python3
"""work.py: the hidden window "work" of the seed's IPC page, in Python: the
same as prokit-example-work (examples/window_work.c).

    initExposeInMainWorld()                  prokit.Window("work")
    onRenderMsgToRender((e, arg) => ...)     window.on_window_message(fn)
    (answering a window's request)           window.on_request(fn)
    onMsgFromMain((e, args) => ...)          window.on_main_message(fn)

Started by main's createWindow (prokit-demo, or any C main), it finds main
through the environment main sets ($PROKIT_ENDPOINT, $PROKIT_WINDOW_NAME);
started by hand, through the app "prokit-demo"'s default endpoint. With
PROKIT_DEMO=1 it checks that every step of the demo happened.
"""
import os
import sys

import prokit

DEMO_DEADLINE_MS = 15000


def say(line: str) -> None:
    """One line in one write, so that it does not interleave with main's."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> int:
    demo = os.environ.get("PROKIT_DEMO") == "1"
    steps = {"hello": False, "served": False, "goodbye": False}
    try:
        window = prokit.Window(os.environ.get("PROKIT_WINDOW_NAME", "work"), app_name="prokit-demo")
    except prokit.ProkitError as e:
        print(f"[window work] cannot join: {e}", file=sys.stderr)
        return 1
    say(f'[window work] (python) joined as window "{window.name}"')

    @window.on_window_message
    def on_render_msg_to_render(message: prokit.Message) -> None:
        say(f'[window work] window "{message.sender}" sent: {message.payload}')
        if message.sender == "main" and message.payload == "Hello Work":
            steps["hello"] = True

    @window.on_request
    def on_request(request: prokit.Request) -> str:
        say(f'[window work] window "{request.sender}" asks: {request.payload}')
        reply = f"Work has received data: {request.payload}"
        say(f"[window work] reply: {reply}")
        steps["served"] = True
        return reply

    @window.on_main_message
    def on_msg_from_main(message: prokit.Message) -> None:
        kind = "broadcast" if message.is_broadcast else "sent"
        say(f"[window work] main {kind}: {message.payload}")
        if message.is_broadcast and message.payload == "Goodbye":
            steps["goodbye"] = True

    window.on_close(lambda: say("[window work] main closed the window"))

    try:
        closed = window.run(DEMO_DEADLINE_MS if demo else None)
    except KeyboardInterrupt:
        closed = False
    window.close()
    if not demo:
        return 0
    missing = [step for step, done in steps.items() if not done] + ([] if closed else ["close"])
    if missing:
        say(f"[window work] FAILED: missing {', '.join(missing)}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
