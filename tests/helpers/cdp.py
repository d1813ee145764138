#!/usr/bin/env python3
"""cdp.py - a small Chrome DevTools Protocol driver for the browser tests
(tests/integration/test_dashboard.sh), on python3-websocket (websocket-client).

As a command, each call does one thing to a headless Chromium started by `launch`
(PORT is its --remote-debugging-port):

  cdp.py --port PORT launch --profile DIR [--binary B] [--log F]
        starts Chromium headless in its own process group (profile in DIR),
        waits until its DevTools endpoint answers, prints its pid
  cdp.py --port PORT watch --out FILE [--ready FILE] URL
        connects to the page, turns on Runtime/Log, opens URL, creates the
        ready file, then writes one JSON line to FILE per uncaught exception
        (kind "exception": Runtime.exceptionThrown), console.error (kind
        "console") and browser log error (kind "log", e.g. a failed request)
        until the browser goes away (run it in the background)
  cdp.py --port PORT eval [--raw] EXPR
        Runtime.evaluate (returnByValue, promises awaited); prints the value
        as JSON (--raw: strings as they are); exit 1 if EXPR threw
  cdp.py --port PORT wait [--timeout S] [--raw] EXPR
        evaluates EXPR every 0.2 s until its value is truthy (a throw counts as
        false) and prints it; exit 1 after S seconds (default 20) with the last
        value or error
  cdp.py --port PORT navigate URL
        Page.navigate, then waits for the load
  cdp.py --port PORT screenshot --out FILE.png
        the page as it looks now (for a person looking into a failure)
  cdp.py --port PORT close [--pid PID]
        Browser.close; then waits for PID (and SIGKILLs its process group after
        5 s)

As a module: Chrome.launch(), Page(port) with send(), evaluate(), navigate(),
wait_until(), close(), and browser_close(port).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

try:
    import websocket  # Debian: python3-websocket
except ImportError:
    sys.stderr.write("cdp.py: the Python module websocket (Debian package python3-websocket) is missing: "
                     "run scripts/bootstrap\n")
    sys.exit(3)


class CdpError(Exception):
    pass


def http_json(port, path, timeout=2.0):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def wait_endpoint(port, timeout, proc=None):
    """Waits until /json/version answers; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise CdpError(f"chromium exited with status {proc.returncode} while starting")
        try:
            return http_json(port, "/json/version")
        except (OSError, ValueError) as e:
            last = e
        time.sleep(0.1)
    raise CdpError(f"no DevTools endpoint on 127.0.0.1:{port} after {timeout} s ({last})")


class Chrome:
    FLAGS = [
        "--headless=new",
        "--no-sandbox",  # the tests run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--mute-audio",
        "--password-store=basic",
        "--use-mock-keychain",
        "--remote-allow-origins=*",
        "--window-size=1280,900",
    ]

    @staticmethod
    def launch(port, profile, binary="chromium", log=None, timeout=30.0):
        """Starts Chromium in a new session (its pid is the process group's id);
        returns the Popen once the DevTools endpoint answers."""
        os.makedirs(profile, exist_ok=True)
        args = [binary, *Chrome.FLAGS, f"--remote-debugging-port={port}", "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={profile}", "about:blank"]
        out = open(log, "ab") if log else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
        finally:
            if log:
                out.close()
        try:
            wait_endpoint(port, timeout, proc)
        except CdpError:
            kill_group(proc.pid)
            raise
        return proc


def kill_group(pid, sig=signal.SIGKILL):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def page_target(port, timeout=10.0):
    """The first page target (not a worker, extension or devtools page)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            for target in http_json(port, "/json/list"):
                if target.get("type") == "page" and target.get("webSocketDebuggerUrl") \
                        and not target.get("url", "").startswith("devtools://"):
                    return target
        except (OSError, ValueError):
            pass
        if time.monotonic() >= deadline:
            raise CdpError(f"no page target on 127.0.0.1:{port}")
        time.sleep(0.1)


class Page:
    """One connection to a page target. Events that arrive while waiting for a
    reply are kept in self.events (and passed to on_event, if set)."""

    def __init__(self, port, timeout=10.0, on_event=None):
        target = page_target(port, timeout)
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=timeout,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        self.on_event = on_event

    def close(self):
        try:
            self.ws.close()
        except (OSError, websocket.WebSocketException):
            pass

    def _event(self, message):
        if self.on_event:
            self.on_event(message)
        else:
            self.events.append(message)

    def send(self, method, timeout=30.0, **params):
        self.next_id += 1
        call = self.next_id
        self.ws.send(json.dumps({"id": call, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError(f"{method}: no reply within {timeout} s")
            self.ws.settimeout(left)
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                raise CdpError(f"{method}: no reply within {timeout} s") from None
            if message.get("id") == call:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            if "method" in message:
                self._event(message)

    def pump(self, seconds):
        """Reads events for up to seconds (returns early when the socket closes: False)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            self.ws.settimeout(left)
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                return True
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                return False
            if "method" in message:
                self._event(message)

    def evaluate(self, expression, timeout=10.0):
        result = self.send("Runtime.evaluate", timeout=timeout, expression=expression, returnByValue=True,
                           awaitPromise=True, userGesture=True)
        details = result.get("exceptionDetails")
        if details:
            raise CdpError(describe_exception(details))
        return result.get("result", {}).get("value")

    def navigate(self, url, timeout=20.0):
        self.send("Page.enable")
        result = self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise CdpError(f"navigate {url}: {result['errorText']}")
        self.wait_until("document.readyState === 'complete'", timeout)

    def wait_until(self, expression, timeout=20.0, interval=0.2):
        """Evaluates expression until its value is truthy; returns it. On timeout
        raises CdpError with the last value or error."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                value = self.evaluate(expression)
                if value:
                    return value
                last = f"last value: {json.dumps(value, ensure_ascii=False)}"
            except CdpError as e:
                last = f"last error: {e}"
            if time.monotonic() >= deadline:
                raise CdpError(f"timed out after {timeout} s waiting for {expression} ({last})")
            self.pump(interval)


def describe_exception(details):
    exception = details.get("exception") or {}
    text = exception.get("description") or details.get("text") or "exception"
    where = details.get("url") or ""
    if where:
        text += f" at {where}:{details.get('lineNumber', 0) + 1}:{details.get('columnNumber', 0) + 1}"
    return text


def browser_close(port, timeout=5.0):
    """Asks the browser to close (Browser.close on the browser target)."""
    version = http_json(port, "/json/version")
    ws = websocket.create_connection(version["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
    try:
        ws.send(json.dumps({"id": 1, "method": "Browser.close"}))
        try:
            ws.recv()
        except (websocket.WebSocketException, OSError):
            pass
    finally:
        try:
            ws.close()
        except (websocket.WebSocketException, OSError):
            pass


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------------------
# Commands

def cmd_launch(args):
    proc = Chrome.launch(args.port, args.profile, args.binary, args.log)
    print(proc.pid)
    return 0


def cmd_watch(args):
    out = open(args.out, "a", encoding="utf-8")

    def record(kind, **fields):
        out.write(json.dumps({"kind": kind, **fields}, ensure_ascii=False) + "\n")
        out.flush()

    def on_event(message):
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.exceptionThrown":
            record("exception", text=describe_exception(params.get("exceptionDetails", {})))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            record("console", text=text)
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            record("log", text=f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())

    page = Page(args.port, on_event=on_event)
    page.send("Runtime.enable")
    page.send("Log.enable")
    page.send("Page.enable")
    result = page.send("Page.navigate", url=args.url)
    if result.get("errorText"):
        sys.stderr.write(f"cdp.py watch: navigate: {result['errorText']}\n")
        return 1
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("navigated\n")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while page.pump(1.0):
        pass
    return 0


def cmd_eval(args):
    page = Page(args.port)
    try:
        value = page.evaluate(args.expression)
    except CdpError as e:
        sys.stderr.write(f"cdp.py eval: {e}\n")
        return 1
    finally:
        page.close()
    print_value(value, args.raw)
    return 0


def cmd_wait(args):
    page = Page(args.port)
    try:
        value = page.wait_until(args.expression, args.timeout)
    except CdpError as e:
        sys.stderr.write(f"cdp.py wait: {e}\n")
        return 1
    finally:
        page.close()
    print_value(value, args.raw)
    return 0


def cmd_navigate(args):
    page = Page(args.port)
    try:
        page.navigate(args.url)
    except CdpError as e:
        sys.stderr.write(f"cdp.py navigate: {e}\n")
        return 1
    finally:
        page.close()
    return 0


def cmd_screenshot(args):
    import base64
    page = Page(args.port)
    try:
        data = page.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
    finally:
        page.close()
    with open(args.out, "wb") as f:
        f.write(base64.b64decode(data))
    return 0


def cmd_close(args):
    try:
        browser_close(args.port)
    except (OSError, ValueError, websocket.WebSocketException, KeyError) as e:
        sys.stderr.write(f"cdp.py close: Browser.close failed ({e})\n")
    if args.pid:
        deadline = time.monotonic() + 5
        while pid_alive(args.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(args.pid):
            sys.stderr.write(f"cdp.py close: chromium {args.pid} still runs after 5 s: SIGKILL\n")
            kill_group(args.pid)
    return 0


def print_value(value, raw):
    if raw and isinstance(value, str):
        print(value)
    else:
        print(json.dumps(value, ensure_ascii=False))


def main(argv):
    parser = argparse.ArgumentParser(prog="cdp.py", description="a small Chrome DevTools Protocol driver")
    parser.add_argument("--port", type=int, required=True, help="Chromium's --remote-debugging-port")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("launch")
    p.add_argument("--profile", required=True)
    p.add_argument("--binary", default="chromium")
    p.add_argument("--log")
    p.set_defaults(run=cmd_launch)
    p = sub.add_parser("watch")
    p.add_argument("--out", required=True)
    p.add_argument("--ready")
    p.add_argument("url")
    p.set_defaults(run=cmd_watch)
    p = sub.add_parser("eval")
    p.add_argument("--raw", action="store_true")
    p.add_argument("expression")
    p.set_defaults(run=cmd_eval)
    p = sub.add_parser("wait")
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--raw", action="store_true")
    p.add_argument("expression")
    p.set_defaults(run=cmd_wait)
    p = sub.add_parser("navigate")
    p.add_argument("url")
    p.set_defaults(run=cmd_navigate)
    p = sub.add_parser("screenshot")
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_screenshot)
    p = sub.add_parser("close")
    p.add_argument("--pid", type=int)
    p.set_defaults(run=cmd_close)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CdpError as e:
        sys.stderr.write(f"cdp.py {args.command}: {e}\n")
        return 1
    except (OSError, websocket.WebSocketException) as e:
        sys.stderr.write(f"cdp.py {args.command}: {type(e).__name__}: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
