//! Headless Chromium for the seed and page tests, through
//! `tests/browser/driver.mjs` (puppeteer-core): the driver serves the
//! harness page from an origin of its own (and a foreign one), prepares the
//! seeds' snippets as modules, and answers one JSON line per command. A
//! page's recorders (`tests/browser/page/recorders.js`) keep every call the
//! snippets make in `window.__calls`, `{name, args}`, which the tests read
//! back here and wait for with a deadline.

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

use crate::driver::workspace;
use crate::DEADLINE;

/// The driver's pipes, used one command at a time.
struct Pipes {
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
}

/// One Chromium (and its driver); closed when dropped.
pub struct Browser {
    _child: Child,
    pipes: Mutex<Pipes>,
    next_id: AtomicU64,
    /// The harness page's origin, which a test lets in with `--allow-origin`.
    pub origin: String,
    /// An origin no hub is told of.
    pub foreign: String,
}

/// A tab of a [`Browser`].
pub struct Page<'b> {
    browser: &'b Browser,
    name: String,
}

impl Browser {
    /// Starts the driver and Chromium; `npm ci` in `tests/browser` first
    /// (`./dev.sh test` does).
    pub async fn start() -> Result<Browser> {
        let dir = workspace().join("tests/browser");
        ensure!(
            dir.join("node_modules/puppeteer-core").exists(),
            "{}/node_modules is missing: run `npm ci` there (./dev.sh test does)",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("driver.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting node tests/browser/driver.mjs")?;
        let stdin = child.stdin.take().context("the driver's stdin")?;
        let mut lines = BufReader::new(child.stdout.take().context("the driver's stdout")?).lines();
        let first = tokio::time::timeout(DEADLINE, lines.next_line())
            .await
            .context("the browser driver did not start in time")??
            .context("the browser driver exited at start (its error is above)")?;
        let ready: Value = serde_json::from_str(&first)
            .with_context(|| format!("the driver's first line: {first}"))?;
        let origin = ready["ready"]["origin"]
            .as_str()
            .context("the page origin")?;
        let foreign = ready["ready"]["foreign"]
            .as_str()
            .context("the foreign origin")?;
        Ok(Browser {
            origin: origin.to_owned(),
            foreign: foreign.to_owned(),
            _child: child,
            pipes: Mutex::new(Pipes {
                stdin: Some(stdin),
                lines,
            }),
            next_id: AtomicU64::new(1),
        })
    }

    /// Sends `command` to the driver and returns its answer.
    pub async fn call(&self, mut command: Value) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        command["id"] = json!(id);
        let what = command["cmd"].as_str().unwrap_or_default().to_owned();
        let mut pipes = self.pipes.lock().await;
        let stdin = pipes.stdin.as_mut().context("the driver is closed")?;
        stdin.write_all(format!("{command}\n").as_bytes()).await?;
        stdin.flush().await?;
        // A command that hangs in the page fails the test instead.
        let line = tokio::time::timeout(DEADLINE * 2, pipes.lines.next_line())
            .await
            .with_context(|| format!("the driver did not answer {what} in time"))??
            .context("the browser driver exited (its error is above)")?;
        let answer: Value =
            serde_json::from_str(&line).with_context(|| format!("the driver answered {line}"))?;
        ensure!(
            answer["id"] == json!(id),
            "the driver answered out of turn: {line}"
        );
        if let Some(error) = answer.get("error") {
            bail!("{what} failed: {}", error.as_str().unwrap_or_default());
        }
        Ok(answer["ok"].clone())
    }

    /// Serves, at `path`, the module made of `parts` (each
    /// `{"seed": FILE, "replace": [[from, to], ...]}` or `{"text": glue}`),
    /// TypeScript transpiled.
    pub async fn module(&self, path: &str, parts: Value) -> Result<()> {
        self.call(json!({"cmd": "module", "path": path, "parts": parts}))
            .await?;
        Ok(())
    }

    /// Opens a tab called `name` at `url` (absolute, or a path of the page
    /// origin), `width` × `height` CSS pixels.
    pub async fn open(&self, name: &str, url: &str, width: u32, height: u32) -> Result<Page<'_>> {
        self.open_with(name, url, width, height, json!({})).await
    }

    /// As [`Browser::open`], sending `headers` with every request.
    pub async fn open_with(
        &self,
        name: &str,
        url: &str,
        width: u32,
        height: u32,
        headers: Value,
    ) -> Result<Page<'_>> {
        self.call(json!({"cmd": "open", "page": name, "url": url,
                         "width": width, "height": height, "headers": headers}))
            .await?;
        Ok(Page {
            browser: self,
            name: name.to_owned(),
        })
    }
}

impl Drop for Browser {
    /// The driver closes Chromium and exits at the end of its input.
    fn drop(&mut self) {
        if let Ok(mut pipes) = self.pipes.try_lock() {
            pipes.stdin.take();
        }
    }
}

impl Page<'_> {
    async fn call(&self, cmd: &str, rest: Value) -> Result<Value> {
        let mut command = rest;
        command["cmd"] = json!(cmd);
        command["page"] = json!(self.name);
        self.browser.call(command).await
    }

    /// Runs `js` as the body of an async function in the page; its JSON value.
    pub async fn eval(&self, js: &str) -> Result<Value> {
        self.call("eval", json!({ "js": js })).await
    }

    /// Every call the page's recorders kept, `{name, args}`, oldest first.
    pub async fn calls(&self) -> Result<Vec<Value>> {
        match self.eval("return window.__calls;").await? {
            Value::Array(calls) => Ok(calls),
            other => bail!("window.__calls is {other}"),
        }
    }

    /// Waits until `check` holds of the recorded calls; returns them. On
    /// time-out, says what was recorded instead.
    pub async fn wait_calls<F>(&self, what: &str, mut check: F) -> Result<Vec<Value>>
    where
        F: FnMut(&[Value]) -> bool,
    {
        let start = Instant::now();
        loop {
            let calls = self.calls().await?;
            if check(&calls) {
                return Ok(calls);
            }
            if start.elapsed() > DEADLINE {
                let errors = self.errors().await.unwrap_or_default();
                bail!(
                    "timed out waiting for {what}.\nRecorded: {}\nPage errors: {errors:?}",
                    shown(&calls)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the expression `js` is truthy in the page; returns its value.
    pub async fn wait_js(&self, what: &str, js: &str) -> Result<Value> {
        let start = Instant::now();
        let body = format!("return ({js});");
        loop {
            let value = self.eval(&body).await?;
            if !matches!(value, Value::Null | Value::Bool(false)) {
                return Ok(value);
            }
            if start.elapsed() > DEADLINE {
                let seen = self
                    .eval("return document.body ? document.body.outerHTML.slice(0, 3000) : null;")
                    .await
                    .unwrap_or_default();
                let errors = self.errors().await.unwrap_or_default();
                bail!("timed out waiting for {what} ({js}).\nThe page: {seen}\nPage errors: {errors:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into the element `selector`, key by key.
    pub async fn type_into(&self, selector: &str, text: &str) -> Result<()> {
        self.call("type", json!({"selector": selector, "text": text}))
            .await?;
        Ok(())
    }

    pub async fn click(&self, selector: &str) -> Result<()> {
        self.call("click", json!({ "selector": selector })).await?;
        Ok(())
    }

    /// Takes the tab's network away (`true`) or gives it back.
    pub async fn offline(&self, on: bool) -> Result<()> {
        self.call("offline", json!({ "on": on })).await?;
        Ok(())
    }

    /// Saves the viewport as `docs/screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> Result<()> {
        let path = workspace().join(format!("docs/screenshots/{name}.png"));
        self.call("screenshot", json!({ "path": path })).await?;
        Ok(())
    }

    /// The page's uncaught exceptions so far.
    pub async fn errors(&self) -> Result<Vec<String>> {
        Ok(serde_json::from_value(
            self.call("errors", json!({})).await?,
        )?)
    }
}

/// The calls' arguments for each call of `name`, oldest first.
pub fn args_of<'a>(calls: &'a [Value], name: &str) -> Vec<&'a [Value]> {
    calls
        .iter()
        .filter(|c| c["name"] == name)
        .map(|c| c["args"].as_array().map(Vec::as_slice).unwrap_or_default())
        .collect()
}

/// The first argument of each call of `name`, oldest first.
pub fn firsts<'a>(calls: &'a [Value], name: &str) -> Vec<&'a Value> {
    args_of(calls, name)
        .into_iter()
        .filter_map(|args| args.first())
        .collect()
}

/// How many times `name` was called.
pub fn count(calls: &[Value], name: &str) -> usize {
    calls.iter().filter(|c| c["name"] == name).count()
}

/// Whether `console.{level}` was called with `text` first.
pub fn logged(calls: &[Value], level: &str, text: &str) -> bool {
    firsts(calls, &format!("console.{level}"))
        .iter()
        .any(|v| v.as_str() == Some(text))
}

/// The recorded calls, one a line, each cut at 400 characters.
fn shown(calls: &[Value]) -> String {
    let lines: Vec<String> = calls
        .iter()
        .map(|c| {
            let text = format!("{}{}", c["name"].as_str().unwrap_or("?"), c["args"]);
            match text.char_indices().nth(400) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        })
        .collect();
    format!("[\n  {}\n]", lines.join("\n  "))
}
