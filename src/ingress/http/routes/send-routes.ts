// POST /emails and /emails/batch (Resend), POST /email and /email/batch (Postmark).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HttpDeps } from '../server.ts';
import { authenticateRequest } from '../auth.ts';
import { fromPostmark, fromResend } from '../dialects.ts';
import type { EmailInput } from '../email-input.ts';
import { senderAllowed, senderNotAllowed } from '../../../accept/sender-policy.ts';
import { ApiError, fromSmtpReply, postmarkBody, validation } from '../errors.ts';
import { withIdempotency } from '../idempotency.ts';
import { postmarkBatch, resendBatch } from '../schemas.ts';
import { checkRoomFor, sendEmail, type SendContext } from '../send.ts';

export function sendRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const context = async (req: FastifyRequest): Promise<SendContext> => ({
    accept: deps.accept, store: deps.store, principal: await authenticateRequest(req, deps.store, 'sending'), clientAddress: req.ip,
    secure: req.protocol === 'https', maxMessageSize: deps.maxMessageSize,
  });
  const idempotencyKey = (req: FastifyRequest) => req.headers['idempotency-key'] as string | undefined;

  const handle = (path: string, run: (req: FastifyRequest, ctx: SendContext) => Promise<{ status: number; body: unknown }>) =>
    app.post(path, async (req, reply) => {
      const ctx = await context(req);
      const answer = await withIdempotency(deps.store, `${ctx.principal.kind}:${ctx.principal.id}`, idempotencyKey(req), { path, body: req.body }, () => run(req, ctx));
      return reply.code(answer.status).send(answer.body);
    });

  handle('/emails', async (req, ctx) => {
    const sent = await sendEmail(fromResend(req.body), ctx);
    // The id goes out only now: accept() resolved after the durable commit.
    return { status: 200, body: { id: sent.id } };
  });

  handle('/emails/batch', async (req, ctx) => {
    const items = batch(resendBatch, req.body);
    // Validate every email before queuing any, so a bad item does not leave half a batch sent.
    const inputs = items.map((item, i) => atIndex(i, () => fromResend(item)));
    // The sender rules too, so that the refusals a client can fix never come after half the batch was queued.
    inputs.forEach((input, i) =>
      atIndex(i, () => {
        if (!senderAllowed(ctx.principal.allowedSenders, input.from.address)) throw fromSmtpReply(senderNotAllowed(ctx.principal, input.from.address, 'From:').reply);
      }));
    await checkRoomFor(inputs.length, ctx);
    const data = [];
    for (const input of inputs) data.push({ id: (await sendEmail(input, ctx)).id });
    return { status: 200, body: { data } };
  });

  handle('/email', async (req, ctx) => {
    const input = fromPostmark(req.body);
    const sent = await sendEmail(input, ctx);
    return { status: 200, body: postmarkOk(input, sent.id) };
  });

  handle('/email/batch', async (req, ctx) => {
    // Postmark answers a batch item by item: a bad email gets its error, the rest are sent.
    const items = batch(postmarkBatch, req.body);
    const results = [];
    for (const item of items) {
      try {
        const input = fromPostmark(item);
        const sent = await sendEmail(input, ctx);
            results.push(postmarkOk(input, sent.id));
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        results.push(postmarkBody(err));
      }
    }
    return { status: 200, body: results };
  });
}

function batch(schema: typeof resendBatch | typeof postmarkBatch, body: unknown): unknown[] {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw validation(`a batch is a JSON array of 1 to ${schema === resendBatch ? 100 : 500} emails`);
  return parsed.data;
}

function atIndex<T>(i: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ApiError) throw new ApiError(err.statusCode, err.code, `emails[${i}]: ${err.message}`);
    throw err;
  }
}

const postmarkOk = (input: EmailInput, id: string) => ({
  To: input.to.map((a) => a.address).join(', '), SubmittedAt: new Date().toISOString(), MessageID: id, ErrorCode: 0, Message: 'OK',
});
