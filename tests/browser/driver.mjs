// Headless Chromium for the end-to-end crate's seed and page tests
// (tests/seeds.rs, tests/pages.rs; tests/src/browser.rs starts this).
//
// On start it serves the test page (page/), the shims, socket.io-client's
// browser bundle and the snippets the tests prepare, from two static servers
// on 127.0.0.1 with free ports: the "page" origin, which the tests allow on
// the hub with --allow-origin, and a "foreign" origin, which they do not. It
// launches Chromium once and prints one JSON line:
//   {"ready": {"origin": "http://127.0.0.1:P", "foreign": "http://127.0.0.1:Q"}}
// Then it reads one JSON command per line on stdin and answers each with one
// line {"id", "ok": value} or {"id", "error": message}:
//   module     {path, parts: [{seed, replace: [[from, to], ...]} | {text}]}
//              joins the parts (a seed copy from seeds/ with each `from`
//              replaced, it must occur exactly once, or glue text), transpiles
//              TypeScript to a JavaScript module and serves it at `path`
//   open       {page, url, width?, height?, headers?} a new tab at `url`
//              (absolute, or relative to the page origin)
//   eval       {page, js} runs `js` as the body of an async function in the
//              page; answers its JSON value
//   type       {page, selector, text}; click {page, selector}: as a user would
//   offline    {page, on}: the tab's network on or off (DevTools emulation)
//   screenshot {page, path}: a PNG of the viewport
//   errors     {page}: the tab's uncaught exceptions so far
//   close      {page}
// On end of input it closes Chromium and exits.

import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const chromium = process.env.COUNTERTOP_CHROMIUM || '/usr/bin/chromium';

// What the static servers serve: fixed files, and the modules the tests
// prepare (path -> JavaScript text).
const files = {
  '/harness.html': ['text/html', path.join(here, 'page/harness.html')],
  '/recorders.js': ['text/javascript', path.join(here, 'page/recorders.js')],
  '/shim/react.js': ['text/javascript', path.join(here, 'page/react.js')],
  '/lib/socket.io.js': [
    'text/javascript',
    path.join(here, 'node_modules/socket.io-client/dist/socket.io.esm.min.js'),
  ],
};
const modules = new Map();

function serve(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  let type;
  let body;
  if (modules.has(url.pathname)) {
    type = 'text/javascript';
    body = modules.get(url.pathname);
  } else if (files[url.pathname]) {
    const [t, file] = files[url.pathname];
    type = t;
    body = fs.readFileSync(file);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
  res.end(body);
}

function listen() {
  return new Promise((resolve, reject) => {
    const server = http.createServer(serve);
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** The text of a seed copy (tests/browser/seeds/NAME), with each `from`
 * replaced by its `to`; each must occur exactly once. */
function seedText(name, replace) {
  let text = fs.readFileSync(path.join(here, 'seeds', name), 'utf8');
  for (const [from, to] of replace ?? []) {
    const count = text.split(from).length - 1;
    if (count !== 1) {
      throw new Error(`${name}: ${JSON.stringify(from)} occurs ${count} times, not once`);
    }
    text = text.replace(from, () => to);
  }
  return text;
}

function prepareModule({ path: at, parts }) {
  const source = parts.map((p) => (p.seed ? seedText(p.seed, p.replace) : p.text)).join('\n');
  const out = ts.transpileModule(source, {
    fileName: 'snippet.ts',
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      // A snippet imports types it never uses as values (`Socket`): elided,
      // as any bundler does.
      verbatimModuleSyntax: false,
    },
  });
  const syntax = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntax.length > 0) {
    const text = syntax.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    throw new Error(`${at} does not parse: ${text.join('; ')}`);
  }
  modules.set(at, out.outputText);
  return at;
}

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countertop-chromium-'));
const [pageServer, foreignServer] = await Promise.all([listen(), listen()]);
const origin = `http://127.0.0.1:${pageServer.address().port}`;
const foreign = `http://127.0.0.1:${foreignServer.address().port}`;

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  userDataDir,
  // Without the background-networking flags Chromium's own traffic is
  // refused by the sandbox and slows or fails the pages' connections.
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--lang=en-US',
  ],
});

const pages = new Map();

async function open({ page: name, url, width, height, headers }) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e?.message ?? e)));
  await page.setViewport({ width: width ?? 1280, height: height ?? 800, deviceScaleFactor: 1 });
  if (headers) {
    await page.setExtraHTTPHeaders(headers);
  }
  pages.set(name, { page, errors });
  await page.goto(new URL(url, origin).href, { waitUntil: 'load', timeout: 20_000 });
  return { url: page.url() };
}

function tab(name) {
  const t = pages.get(name);
  if (!t) {
    throw new Error(`no page ${name}`);
  }
  return t;
}

async function run(command) {
  switch (command.cmd) {
    case 'module':
      return prepareModule(command);
    case 'open':
      return open(command);
    case 'eval': {
      const { page } = tab(command.page);
      const value = await page.evaluate(`(async () => { ${command.js}\n })()`);
      return value === undefined ? null : value;
    }
    case 'type':
      await tab(command.page).page.type(command.selector, command.text);
      return null;
    case 'click':
      await tab(command.page).page.click(command.selector);
      return null;
    case 'offline':
      await tab(command.page).page.setOfflineMode(Boolean(command.on));
      return null;
    case 'screenshot':
      fs.mkdirSync(path.dirname(command.path), { recursive: true });
      await tab(command.page).page.screenshot({ path: command.path, type: 'png' });
      return command.path;
    case 'errors':
      return tab(command.page).errors;
    case 'close':
      await tab(command.page).page.close();
      pages.delete(command.page);
      return null;
    default:
      throw new Error(`unknown command ${command.cmd}`);
  }
}

function answer(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function shutdown() {
  // Out in 5 s whatever happens; puppeteer kills Chromium as this exits.
  setTimeout(() => process.exit(0), 5000).unref();
  await browser.close().catch(() => {});
  pageServer.close();
  foreignServer.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(0);
}

answer({ ready: { origin, foreign } });

// Commands run one at a time, in order.
let queue = Promise.resolve();
const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
  queue = queue.then(async () => {
    let command;
    try {
      command = JSON.parse(line);
      answer({ id: command.id, ok: await run(command) });
    } catch (e) {
      answer({ id: command?.id ?? null, error: String(e?.stack ?? e) });
    }
  });
});
input.on('close', () => {
  queue.then(shutdown);
});
process.on('SIGTERM', shutdown);
