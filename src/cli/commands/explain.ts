import type { Command } from 'commander';
import { parseReply, type EnhancedCode } from '../../delivery/smtp-reply.ts';
import { explainError, explainReply, type Explanation } from '../../doctor/explain.ts';

/** A pasted reply (`550 5.7.1 …`, `5.7.1 …`) or, failing that, an error message (`connect ECONNREFUSED …`). */
export function explainText(input: string): Explanation & { input: string } {
  const text = input.trim();
  const basic = /^(\d{3})[ -]/.exec(text);
  if (basic) return { input: text, ...explainReply(parseReply(Number(basic[1]), text)) };
  const enhanced = /^([245])\.(\d{1,3})\.(\d{1,3})\s*(.*)$/s.exec(text);
  if (enhanced) {
    // Only the class is known; x00 matches no basic-code rule, just the enhanced ones.
    const [, cls, subject, detail, rest] = enhanced as unknown as [string, string, string, string, string];
    return { input: text, ...explainReply({ code: Number(cls) * 100, enhanced: `${cls}.${subject}.${detail}` as EnhancedCode, text: rest }) };
  }
  return { input: text, ...explainError({ message: text, code: /\b(E[A-Z_]{3,}|[A-Z]+(?:_[A-Z0-9]+){2,})\b/.exec(text)?.[1] }) };
}

export function registerExplain(program: Command): void {
  program
    .command('explain <text...>')
    .description('explain an SMTP reply or a connection error in plain words: category and remedy')
    .option('--json', 'print it as JSON')
    .action((words: string[], o: { json?: boolean }) => {
      const e = explainText(words.join(' '));
      if (o.json) console.log(JSON.stringify(e, null, 2));
      else console.log(`${e.input}\n  category: ${e.category}\n  meaning:  ${e.meaning}\n  remedy:   ${e.remedy}`);
    });
}
