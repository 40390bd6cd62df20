# SPDX-License-Identifier: Apache-2.0
"""A small W3C WebDriver client over HTTP (standard library only), enough
to drive Debian's chromium through chromium-driver: start the driver on a
free loopback port, open a headless session, navigate, run scripts, read
the browser's console log and take screenshots.

    with Chrome() as b:
        b.get("http://127.0.0.1:8080/")
        b.run("return document.title")
        b.console()          # [{level, message, ...}]
        b.screenshot(path)

Chrome.available() says whether both programs are installed."""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = ("chromedriver", "chromium-driver")


def _which(names, extra=()):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    for p in extra:
        if os.access(p, os.X_OK):
            return p
    return None


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class WebDriverError(RuntimeError):
    pass


class Chrome:
    def __init__(self, width=1400, height=1900, timeout=60.0):
        self.browser = _which(CHROMIUM)
        self.driver_bin = _which(DRIVER, ("/usr/lib/chromium/chromedriver",))
        if not self.browser or not self.driver_bin:
            raise WebDriverError("chromium or chromedriver is not installed")
        self.size = (width, height)
        self.timeout = timeout
        self.tmp = tempfile.mkdtemp(prefix="impala-chrome-")
        self.port = None
        self.proc = None
        self.session = None

    @staticmethod
    def available():
        return bool(_which(CHROMIUM)) and bool(_which(DRIVER, ("/usr/lib/chromium/chromedriver",)))

    # ---- the wire ----

    def _call(self, method, path, body=None, timeout=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as r:
                return json.loads(r.read().decode()).get("value")
        except urllib.error.HTTPError as e:
            raise WebDriverError(f"{method} {path}: HTTP {e.code}: {e.read().decode()[:2000]}")

    def _s(self, method, what, body=None):
        return self._call(method, f"/session/{self.session}{what}", body)

    # ---- life ----

    def start(self):
        self.port = _free_port()
        self.log = open(os.path.join(self.tmp, "chromedriver.log"), "w")
        # Its own process group, so close() can stop the browsers it starts
        # too, even when no session was ever made.
        self.proc = subprocess.Popen([self.driver_bin, f"--port={self.port}"],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        end = time.time() + 20
        while True:
            try:
                if self._call("GET", "/status", timeout=2).get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.time() > end or self.proc.poll() is not None:
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                f"--window-size={self.size[0]},{self.size[1]}",
                f"--user-data-dir={os.path.join(self.tmp, 'profile')}"]
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": self.browser, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"}}}}
        value = self._call("POST", "/session", caps, timeout=self.timeout)
        self.session = value["sessionId"]
        return self

    def close(self):
        if self.session and self.proc and self.proc.poll() is None:
            try:
                self._call("DELETE", f"/session/{self.session}", timeout=20)
            except (OSError, WebDriverError):
                pass
        self.session = None
        if self.proc:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            # __exit__ is not called when __enter__ fails: a session that
            # timed out must not leave chromedriver and Chromium running.
            self.close()
            raise

    def __exit__(self, *exc):
        self.close()

    # ---- what tests use ----

    def get(self, url):
        self._s("POST", "/url", {"url": url})

    def run(self, script, *args):
        """Runs a function body in the page; its return value."""
        return self._s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def console(self):
        """Console entries since the last call: [{level, message, source}]."""
        return self._s("POST", "/se/log", {"type": "browser"})

    def screenshot(self, path):
        png = base64.b64decode(self._s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)
        return png
