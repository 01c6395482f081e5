//! Waits that poll a condition with a deadline, reading and working the
//! page, switching windows, and settled screenshots.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::elements::Element;
use fantoccini::wd::WindowHandle;
use fantoccini::{Client, Locator};

use crate::driver::workspace;
use crate::DEADLINE;

/// Polls `check` until it answers true, or fails after [`DEADLINE`].
pub async fn until<F, Fut>(what: &str, check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    until_within(what, DEADLINE, check).await
}

/// Polls `check` until it answers true, or fails after `deadline`.
pub async fn until_within<F, Fut>(what: &str, deadline: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = Instant::now();
    let mut last_error = None;
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_error = Some(e),
        }
        if start.elapsed() > deadline {
            match last_error {
                Some(e) => bail!("timed out waiting for {what} (last error: {e:#})"),
                None => bail!("timed out waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn css_present(client: &Client, css: &str) -> Result<bool> {
    Ok(!client.find_all(Locator::Css(css)).await?.is_empty())
}

pub async fn wait_for(client: &Client, css: &str) -> Result<Element> {
    client
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("waiting for {css}"))
}

pub async fn click(client: &Client, css: &str) -> Result<()> {
    wait_for(client, css)
        .await?
        .click()
        .await
        .with_context(|| format!("clicking {css}"))?;
    Ok(())
}

/// Replaces the text of the input `css` with `text`.
pub async fn type_into(client: &Client, css: &str, text: &str) -> Result<()> {
    let input = wait_for(client, css).await?;
    input
        .clear()
        .await
        .with_context(|| format!("clearing {css}"))?;
    input
        .send_keys(text)
        .await
        .with_context(|| format!("typing into {css}"))?;
    Ok(())
}

pub async fn text_of(client: &Client, css: &str) -> Result<String> {
    Ok(wait_for(client, css).await?.text().await?)
}

/// Switches to the window whose title names `screen` (see `App.tsx`) and
/// returns its handle.
pub async fn switch_to(client: &Client, screen: &str) -> Result<WindowHandle> {
    let want = format!("Countertop — {screen}");
    let start = Instant::now();
    loop {
        let mut seen = Vec::new();
        for handle in client.windows().await? {
            client.switch_to_window(handle.clone()).await?;
            let title = client.title().await?;
            if title == want {
                return Ok(handle);
            }
            if start.elapsed() > DEADLINE {
                // What the window shows instead, for the failure message.
                let text = client
                    .execute("return document.body.innerText.slice(0, 300)", vec![])
                    .await
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .unwrap_or_default();
                seen.push(format!("{title} ({text:?})"));
            }
        }
        if start.elapsed() > DEADLINE {
            bail!("no window titled {want:?}; the windows are {seen:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Saves the current window as `docs/screenshots/{name}.png`, once what
/// it shows has settled: WebKit paints a change a frame or more after the
/// DOM has it, so a screenshot taken at once can show the page before a
/// click. Waits for two animation frames, then for two screenshots in a
/// row to be the same.
pub async fn screenshot(client: &Client, name: &str) -> Result<()> {
    let start = Instant::now();
    let mut last = Vec::new();
    loop {
        next_frame(client).await?;
        let png = client.screenshot().await?;
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
        if png == last {
            break;
        }
        if start.elapsed() > DEADLINE {
            bail!("the window kept changing; no steady screenshot for {name}");
        }
        last = png;
    }
    let dir = workspace().join("docs/screenshots");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{name}.png")), last)?;
    Ok(())
}

/// Waits until the page has rendered two more animation frames.
pub async fn next_frame(client: &Client) -> Result<()> {
    client
        .execute_async(
            "const done = arguments[arguments.length - 1];\n\
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )
        .await
        .context("waiting for the page to render a frame")?;
    Ok(())
}
