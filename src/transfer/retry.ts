/** Retries with exponential backoff and jitter, only for errors that say retrying can help. */
import { isStowageError } from "../errors.js";

export interface RetryOptions {
  retries: number;
  signal?: AbortSignal | undefined;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseDelayMs ?? 250;
  const max = options.maxDelayMs ?? 8_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const retryable = isStowageError(error) && error.retryable;
      if (!retryable || attempt >= options.retries || options.signal?.aborted) throw error;
      const delay = Math.min(max, base * 2 ** attempt) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
