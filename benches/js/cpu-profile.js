// Summarise a DevTools CPU profile (Profiler.stop's `profile`: nodes, samples, timeDeltas):
// self time per function, largest first, in ms per run of the profiled work.

function label(frame) {
  const file = frame.url.split('/').pop();
  return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}:${frame.columnNumber + 1}` : ''}`;
}

/** The `top` largest self times of `profile`, divided by `runs`, as text lines. */
export function summarise(profile, runs, top = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const k = label(byId.get(id).callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    total += dt;
  });
  const ms = (us) => (us / 1000 / runs).toFixed(2).padStart(7);
  const lines = [`  ${ms(total)} ms per run sampled in all`];
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${ms(v)} ms  ${k}`);
  return lines.join('\n');
}
