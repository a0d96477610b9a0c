#!/usr/bin/env node
import fs from 'node:fs';
import { type CliOptions, parseCliArgs, usage } from './cli-options';
import { LoadChecker } from './load-checker';
import { formatSseSummary, SseChecker, sseOk } from './sse-checker';
import { formatSummary, summarize } from './summarize';
import { formatWebSocketSummary, WebSocketChecker, webSocketOk } from './websocket-checker';

/** Progress always goes to stderr; the summary to stdout, unless stdout carries the JSON (`--json -`). */
const progress = (line: string) => process.stderr.write(line + '\n');

async function run(o: CliOptions): Promise<number> {
  const human = o.json === '-' ? progress : (line: string) => process.stdout.write(line + '\n');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let result: { ok: boolean; text: string; summary: unknown };
  if (o.mode === 'http') {
    const lc = new LoadChecker({ url: o.url, rate: o.rate, method: o.method, body: o.body, connections: o.connections });
    progress(`${o.method} ${o.url} at ${o.rate}/s for ${o.durationMs / 1000} s...`);
    lc.start();
    const tick = setInterval(() => {
      const s = summarize(lc.outcomes);
      progress(`  ${(lc.elapsedMs / 1000).toFixed(0)} s: ${s.sent} answered, ${s.failed} failed`);
    }, 2000);
    await sleep(o.durationMs);
    clearInterval(tick);
    const s = summarize(await lc.stop());
    result = { ok: s.failed === 0 && s.sent > 0, text: formatSummary(s) + (s.sent === 0 ? '\nnothing was sent: run longer or at a higher rate' : ''), summary: s };
  } else if (o.mode === 'websocket') {
    const wc = new WebSocketChecker({ url: o.url, clients: o.clients, messageIntervalMs: o.intervalMs });
    progress(`${o.clients} WebSocket clients on ${o.url}, a message every ${o.intervalMs} ms each, for ${o.durationMs / 1000} s...`);
    // The duration starts now, connected or not: an unreachable target must not hang the run.
    void wc.start();
    const tick = setInterval(() => {
      const s = wc.summary();
      progress(`  ${(wc.elapsedMs / 1000).toFixed(0)} s: ${s.messagesAnswered}/${s.messagesSent} answered, closes clean ${s.cleanCloses} abnormal ${s.abnormalCloses}`);
    }, 2000);
    await sleep(o.durationMs);
    clearInterval(tick);
    const s = await wc.stop();
    result = { ok: webSocketOk(s), text: formatWebSocketSummary(s), summary: s };
  } else {
    const sc = new SseChecker({ url: o.url, clients: o.clients });
    progress(`${o.clients} event-stream clients on ${o.url} for ${o.durationMs / 1000} s...`);
    void sc.start();
    const tick = setInterval(() => {
      const s = sc.summary();
      progress(`  ${(sc.elapsedMs / 1000).toFixed(0)} s: ${s.events} events, ids lost ${s.lostIds}, abnormal ends ${s.abnormalEnds}`);
    }, 2000);
    await sleep(o.durationMs);
    clearInterval(tick);
    const s = await sc.stop();
    result = { ok: sseOk(s), text: formatSseSummary(s), summary: s };
  }
  human(result.text);
  const json = JSON.stringify({ mode: o.mode, ok: result.ok, ...(result.summary as object) }, null, 2) + '\n';
  if (o.json === '-') process.stdout.write(json);
  else if (o.json) fs.writeFileSync(o.json, json);
  return result.ok ? 0 : 1;
}

const parsed = parseCliArgs(process.argv.slice(2));
if ('help' in parsed) {
  process.stdout.write(usage() + '\n');
  process.exit(0);
}
if ('problems' in parsed) {
  process.stderr.write(`loadcheck: ${parsed.problems.length === 1 ? parsed.problems[0] : 'bad arguments:\n  - ' + parsed.problems.join('\n  - ')}\n\n${usage()}\n`);
  process.exit(2);
}
run(parsed.options).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`loadcheck: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
