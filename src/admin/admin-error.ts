// What an admin operation refuses, in terms both the CLI and the HTTP API can
// say: the thing does not exist, the input is wrong, or the state forbids it.
export class AdminError extends Error {
  constructor(readonly kind: 'not_found' | 'invalid' | 'conflict', message: string) {
    super(message);
  }
}
