"""The console (GET /) in a real browser: headless Chromium over the
DevTools protocol.

usage: /usr/bin/python3 console_test.py /path/to/zebd [--screenshot FILE.png]

Starts zebd on ports of its own (tests/http_test.py's Node) with an
automation whose webhook is refused (a dead letter), opens the console
in headless Chromium (its own profile in a temporary directory, the
DevTools port chosen by Chromium), and reads the page's DOM with
Runtime.evaluate: events published after the page went live appear over
/ws, the type filter hides other types, events published before are
there when the page is opened with ?from=1, the automation with its
enabled state and last run, the dead letter whose replay button replays
it (the outbox's counters say so), and the gateway's counters. Every wait
is a condition with a deadline. Exits 77 (skipped) without Chromium.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_test import Node, check, wait_until, finish  # noqa: E402
import websocket                                        # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

RULE = {"id": "console-hook", "name": "Console hook", "triggerEventType": "console.alarm",
        "actions": [{"type": "webhook", "config": {"url": "http://127.0.0.1:9/refused"},
                     "retryPolicy": {"maxAttempts": 1}}]}


class Browser:
    """headless Chromium and one page, driven over the DevTools protocol"""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="zeb-chromium-")
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-port=0", "--remote-allow-origins=*",
             "--user-data-dir=" + self.profile, "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = os.path.join(self.profile, "DevToolsActivePort")
        wait_until(lambda: os.path.exists(active) and len(open(active).read().split()) >= 2, 30,
                   "Chromium's DevTools port")
        port = open(active).read().split()[0]
        pages = wait_until(lambda: [t for t in self.targets(port) if t.get("type") == "page"], 10,
                           "Chromium's page")
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0

    @staticmethod
    def targets(port):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=5) as reply:
                return json.loads(reply.read())
        except OSError:
            return []

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                return reply.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(self, url):
        self.call("Page.navigate", url=url)
        wait_until(lambda: self.evaluate("document.readyState") == "complete", 20, "the page loaded")

    def screenshot(self, path):
        import base64
        data = self.call("Page.captureScreenshot", format="png").get("data", "")
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        except OSError:
            pass
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def publish(node, events):
    body = [dict({"specversion": "1.0", "source": "console-test"}, **event) for event in events]
    status, _, reply = node.request("POST", "/api/events", body)
    check(status in (200, 201), "publish: %s %r" % (status, reply))
    return reply


def rows(browser, kind="event"):
    return browser.evaluate("Array.from(document.querySelectorAll('tr.%s')).map("
                            "r => [r.dataset.sequence || r.dataset.id, r.dataset.type || '',"
                            " r.textContent])" % kind) or []


def stat(browser, key):
    return browser.evaluate("(r => r ? r.cells[1].textContent : null)"
                            "(document.querySelector('#stats tr[data-key=\"%s\"]'))" % key)


def main():
    if not CHROMIUM:
        print("SKIP: no chromium")
        sys.exit(77)
    screenshot = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else None
    started = time.monotonic()
    node = Node()
    browser = None
    try:
        node.welcome()
        node.connect()
        status, _, reply = node.request("POST", "/api/automations", RULE)
        check(status == 201, "the automation: %s %r" % (status, reply))
        before = publish(node, [{"type": "console.early", "id": "early-%d" % i, "data": {"n": i}}
                                for i in range(3)])["sequence"]
        publish(node, [{"type": "console.alarm", "id": "alarm-1", "data": {"level": "high"}}])
        dead = wait_until(lambda: node.request("GET", "/api/deadletters")[2].get("items"), 30,
                          "the webhook's dead letter")
        browser = Browser()

        # Live: events published once the page is subscribed
        browser.open(node.url + "/")
        wait_until(lambda: browser.evaluate("document.getElementById('status').textContent") == "live",
                   20, "the console's WebSocket")
        wait_until(lambda: stat(browser, "ws.subscribes") not in (None, "0"), 20, "the subscription")
        check(rows(browser) == [], "a page opened without ?from shows no history: %r" % rows(browser))
        live = publish(node, [{"type": "console.live", "id": "live-%d" % i, "data": {"i": i}}
                              for i in range(5)])["sequence"]
        shown = wait_until(lambda: len(rows(browser)) == 5 and rows(browser), 20, "the live events")
        check([int(r[0]) for r in shown or []] == list(range(live + 4, live - 1, -1))
              and all(r[1] == "console.live" for r in shown or []), "live events, newest first: %r" % shown)
        check(all('"i":' in r[2] for r in shown or []), "each row shows the event's data")

        # The type filter
        browser.evaluate("document.getElementById('filter').value = 'console.keep'")
        kept = publish(node, [{"type": "console.drop", "id": "drop-1"}, {"type": "console.keep", "id": "keep-1"},
                              {"type": "console.drop", "id": "drop-2"}])["sequence"] + 1
        wait_until(lambda: any(r[0] == str(kept) for r in rows(browser)), 20, "the filtered event")
        check(not any(r[1] == "console.drop" for r in rows(browser)), "the filter hides other types")

        # The automation, enabled, with its last run; the counters
        automation = wait_until(lambda: [r for r in rows(browser, "automation") if r[0] == "console-hook"
                                         and "enabled" in r[2] and "failed" in r[2]], 20,
                                "the automation with its failed run")
        check(bool(automation), "the automation is listed: %r" % rows(browser, "automation"))
        check(wait_until(lambda: stat(browser, "ws.connections") not in (None, "0"), 20, "the counters"),
              "the gateway's counters are shown")

        # The dead letter and its replay button
        letter = dead[0]["id"]
        wait_until(lambda: any(r[0] == letter for r in rows(browser, "deadletter")), 20, "the dead letter row")
        browser.evaluate("document.querySelector('tr.deadletter[data-id=\"%s\"] button').click()" % letter)
        wait_until(lambda: browser.evaluate("document.querySelector('tr.deadletter[data-id=\"%s\"] button')"
                                            ".textContent" % letter) == "replayed", 20, "the replay")
        # The replay ran the action again: it failed again, a second log entry
        wait_until(lambda: len(node.request("GET", "/api/automations/console-hook/logs")[2].get("items", []))
                   >= 2, 30, "the replayed run")

        # History: ?from=1 replays the log into the page
        browser.open(node.url + "/?from=%d" % before)
        early = lambda: [r for r in rows(browser) if r[1] == "console.early"]
        #  All three: the rows come in as the replay's messages do
        history = wait_until(lambda: early() if len(early()) >= 3 else None, 20, "the history")
        check(sorted(int(r[0]) for r in history or []) == [before, before + 1, before + 2],
              "?from replays the earlier events: %r" % history)
        if screenshot:
            publish(node, [{"type": "order.placed", "id": "shot-%d" % i, "data": {"order": 1000 + i, "total": 42.5}}
                           for i in range(4)])
            wait_until(lambda: any(r[1] == "order.placed" for r in rows(browser)), 20, "events to show")
            browser.screenshot(screenshot)
    finally:
        if browser:
            browser.close()
        status = node.stop()
        check(status == 0, "zebd exits 0 on SIGTERM: %s" % status)
    finish(started)


if __name__ == "__main__":
    main()
