// Which CommonJS modules this process has loaded (Node's one module cache), for tests that a library is
// kept out of a process, or loaded only once needed. Each such test file runs in a process of its own.
import { createRequire } from 'node:module';

/** Paths of the loaded modules that match `pattern`. */
export const loadedModules = (pattern: RegExp): string[] => Object.keys(createRequire(import.meta.url).cache).filter((path) => pattern.test(path));
