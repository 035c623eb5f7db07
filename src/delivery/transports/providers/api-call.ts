// The part every provider transport shares: make the call, turn "no answer" into
// a deferral for every recipient, and stamp each outcome with the relay, the TLS
// version and the provider's message id.
import type { RecipientOutcome, RouteCheck } from '../../outcome.ts';
import { reply } from '../../smtp-reply.ts';
import { HttpFailure, type HttpClient, type HttpRequest, type HttpResponse } from './http-client.ts';
import { detailOf, failureVerdict, oneLine, outcome, type ProviderLabel, type Verdict } from './outcomes.ts';

export interface ApiContext {
  /** The transport name: `resend`. */
  name: string;
  label: ProviderLabel;
  client: HttpClient;
}

export interface Answer {
  /** One verdict for the call, or one per recipient where the provider names recipients. */
  verdict: Verdict | ((rcpt: string) => Verdict);
  providerMessageId?: string;
}

export async function sendCall(
  ctx: ApiContext,
  req: HttpRequest,
  rcpts: readonly string[],
  interpret: (res: HttpResponse) => Answer,
): Promise<RecipientOutcome[]> {
  let res: HttpResponse;
  try {
    res = await ctx.client.request(req);
  } catch (err) {
    if (!(err instanceof HttpFailure)) throw err;
    const v = failureVerdict(ctx.label, err);
    // A shutdown's abort is retried on this route anyway; any other loss after sending leaves the result unknown.
    const inDoubt = err.requestSent && err.kind !== 'aborted';
    return rcpts.map((r) => ({ ...outcome(r, v, detailOf(ctx.name, req.url)), ...(inDoubt && { inDoubt }) }) as RecipientOutcome);
  }
  const answer = interpret(res);
  const detail = detailOf(ctx.name, req.url, res);
  return rcpts.map((r) => outcome(r, typeof answer.verdict === 'function' ? answer.verdict(r) : answer.verdict, detail, answer.providerMessageId));
}

/**
 * A call the provider refused whole for a recipient it does not name (every outcome the same 5.1.1 bounce):
 * with several recipients, each is sent again alone, so only the bad address bounces (and is suppressed) and
 * the others go out. The refused call sent nothing, so nobody gets the message twice.
 */
export async function isolateRefusedRecipient(
  outcomes: RecipientOutcome[],
  sendAlone: (rcpt: string) => Promise<RecipientOutcome[]>,
): Promise<RecipientOutcome[]> {
  if (outcomes.length < 2 || !outcomes.every((o) => o.kind === 'bounced' && o.reply.enhanced === '5.1.1')) return outcomes;
  const alone: RecipientOutcome[] = [];
  for (const o of outcomes) alone.push(...await sendAlone(o.rcpt));
  return alone;
}

/** `list` in consecutive pieces of at most `size`: one API call each, where the provider caps recipients per call. */
export function inChunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Runs a transport's send so that nothing but outcomes comes out (a transport never throws). */
export async function neverThrow(
  ctx: ApiContext,
  url: URL,
  rcpts: readonly string[],
  send: () => Promise<RecipientOutcome[]>,
): Promise<RecipientOutcome[]> {
  try {
    return await send();
  } catch (err) {
    const v: Verdict = { kind: 'deferred', reply: reply(451, '4.3.0', `${ctx.label.title} delivery failed: ${oneLine((err as Error).message)}`) };
    return rcpts.map((r) => outcome(r, v, detailOf(ctx.name, url)));
  }
}

/** A harmless GET that shows whether the key works; `accept` reads a 2xx (or a provider-specific) answer. */
export async function checkCall(
  ctx: ApiContext,
  req: HttpRequest,
  accept: (res: HttpResponse) => RouteCheck | undefined,
  message: (res: HttpResponse) => string,
): Promise<RouteCheck> {
  let res: HttpResponse;
  try {
    res = await ctx.client.request(req);
  } catch (err) {
    if (!(err instanceof HttpFailure)) throw err;
    return { ok: false, detail: `cannot reach ${ctx.label.title} at ${req.url.host}: ${err.message}` };
  }
  const known = accept(res);
  if (known) return known;
  if (res.status === 401 || res.status === 403)
    return { ok: false, detail: `the ${ctx.label.title} ${ctx.label.keyName} was refused (HTTP ${res.status}: ${message(res)})` };
  return { ok: false, detail: `${ctx.label.title} answered HTTP ${res.status}: ${message(res)}` };
}
