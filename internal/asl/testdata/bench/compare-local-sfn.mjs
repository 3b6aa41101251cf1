// Runs the two benchmark machines through aws-local-stepfunctions (npm) and
// prints state transitions per second, to compare with
// `go test -bench . ./internal/asl/`. From the repository root:
//
//   npm install --no-fund --no-audit            # package.json pins aws-local-stepfunctions 3.0.0
//   node internal/asl/testdata/bench/compare-local-sfn.mjs
//
// aws-local-stepfunctions 3.0.0 needs Promise.withResolvers (Node >= 22);
// on Node 20 the polyfill below supplies it (see TOOLCHAIN.md).
if (!Promise.withResolvers) {
  Promise.withResolvers = () => {
    let resolve, reject;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return { promise, resolve, reject };
  };
}

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { StateMachine } = await import('aws-local-stepfunctions');
const here = dirname(fileURLToPath(import.meta.url));

const items = Array.from({ length: 1000 }, (_, i) => i);
const input = { n: 1000, items };

// Transitions per run, as counted by the Go benchmark (StateEntered events).
const machines = [
  { file: 'choice-loop.asl.json', transitions: 2003, check: (out) => out.i === 1000 },
  { file: 'map-items.asl.json', transitions: 2001, check: (out) => out.count === 1000 },
];

const minSeconds = Number(process.env.BENCH_SECONDS || 3);
for (const m of machines) {
  const def = JSON.parse(readFileSync(join(here, m.file), 'utf8'));
  const sm = new StateMachine(def);
  const first = await sm.run(input).result;
  if (!m.check(first)) throw new Error(`${m.file}: unexpected output ${JSON.stringify(first).slice(0, 200)}`);
  let runs = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minSeconds) {
    await sm.run(input).result;
    runs++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const perRun = (elapsed / runs) * 1e9;
  console.log(`${m.file}\t${runs} runs\t${Math.round(perRun)} ns/op\t${Math.round((m.transitions * runs) / elapsed)} transitions/s`);
}
