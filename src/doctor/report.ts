// The shape every doctor run produces: sections of checks (✔ ok, ✖ fail,
// ! warning, · information), each with a one-line hint, rendered as text for
// people or as JSON with the same content for scripts.
import type { Category } from './explain.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'info';

export interface Check {
  /** Stable name for scripts: 'connect', 'tls.expiry', 'spf.lookups', … */
  id: string;
  status: CheckStatus;
  summary: string;
  hint?: string;
  category?: Category;
  /** Structured details (certificate fields, capabilities, records) for --json. */
  data?: Record<string, unknown>;
}

export interface Section {
  title: string;
  checks: Check[];
  /** One line that sums the section up (a port's verdict). */
  verdict?: string;
}

export interface Report {
  command: string;
  target?: string;
  sections: Section[];
  /** What to configure in the application, when the run found out. */
  recommendation?: string;
  /** The recommendation as settings (host, port, tls, auth), for scripts. */
  settings?: Record<string, unknown>;
  /** False when any check failed; the CLI exits 1. */
  ok: boolean;
}

/** Reports progress of slow steps (connects, lookups); the CLI prints it on stderr. */
export type Progress = (line: string) => void;

export const silent: Progress = () => {};

export function check(id: string, status: CheckStatus, summary: string, more: Omit<Check, 'id' | 'status' | 'summary'> = {}): Check {
  return { id, status, summary, ...more };
}

export function makeReport(command: string, target: string | undefined, sections: Section[], recommendation?: string): Report {
  const ok = sections.every((s) => s.checks.every((c) => c.status !== 'fail'));
  return { command, ...(target ? { target } : {}), sections, ...(recommendation ? { recommendation } : {}), ok };
}

const MARK: Record<CheckStatus, string> = { ok: '✔', fail: '✖', warn: '!', info: '·' };

export function renderText(report: Report): string {
  const out: string[] = [`smarthost ${report.command}${report.target ? ` ${report.target}` : ''}`];
  for (const section of report.sections) {
    out.push('', section.title);
    for (const c of section.checks) {
      out.push(`  ${MARK[c.status]} ${c.summary}`);
      if (c.hint) out.push(`    → ${c.hint}`);
    }
    if (section.verdict) out.push(`  verdict: ${section.verdict}`);
  }
  if (report.recommendation) out.push('', `recommended: ${report.recommendation}`);
  const counts = (s: CheckStatus) => report.sections.reduce((n, sec) => n + sec.checks.filter((c) => c.status === s).length, 0);
  out.push('', `${report.ok ? '✔' : '✖'} ${counts('fail')} failed, ${counts('warn')} warning(s), ${counts('ok')} passed`);
  return out.join('\n') + '\n';
}
