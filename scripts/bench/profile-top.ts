// `node --import tsx scripts/bench/profile-top.ts <file.cpuprofile> [n]`: the
// frames a V8 CPU profile (node --cpu-prof) spent most of its samples in, by
// self time, and the same summed per package or source file.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time in ms per frame and per package/file, largest first. */
export function topFrames(profile: CpuProfile): { frames: [string, number][]; files: [string, number][]; totalMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const frames = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, 'node_modules/').replace(/^.*\/(src|scripts|test)\//, '$1/');
    frames.set(`${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`, (frames.get(`${functionName || '(anonymous)'} ${where}${url ? `:${lineNumber + 1}` : ''}`) ?? 0) + us);
    const file = where.startsWith('node_modules/') ? where.split('/').slice(0, where.split('/')[1]!.startsWith('@') ? 3 : 2).join('/') : where || functionName;
    files.set(file, (files.get(file) ?? 0) + us);
    total += us;
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, v / 1000] as [string, number]);
  return { frames: sorted(frames), files: sorted(files), totalMs: total / 1000 };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ''))) {
  const [file, n = '30'] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [n]');
  const { frames, files, totalMs } = topFrames(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const pct = (ms: number) => `${((ms / totalMs) * 100).toFixed(1).padStart(5)} %`;
  console.log(`${(totalMs / 1000).toFixed(1)} s of samples\n\nby frame (self time):`);
  for (const [k, ms] of frames.slice(0, Number(n))) console.log(`${pct(ms)}  ${k}`);
  console.log('\nby package or file:');
  for (const [k, ms] of files.slice(0, Number(n))) console.log(`${pct(ms)}  ${k}`);
}
