/**
 * Reads a child process's output as it comes (a pipe nobody reads fills up and stalls the child)
 * and keeps its last lines, for the error message when the child exits early.
 */
export interface OutputTail {
  lines: string[];
  /** Resolves once the stream has ended. */
  done: Promise<void>;
  /** The last line that is not empty, or undefined. */
  last(): string | undefined;
}

export function keepTail(
  stream: ReadableStream<Uint8Array>,
  { max = 20, onLine }: { max?: number; onLine?: (line: string) => void } = {},
): OutputTail {
  const lines: string[] = [];
  const push = (line: string) => {
    if (!line.trim()) return;
    lines.push(line);
    if (lines.length > max) lines.shift();
    onLine?.(line);
  };
  const done = (async () => {
    let rest = "";
    // (Typed by hand: with Node's stream types in the program, TextDecoderStream's writable side
    // is typed as taking any BufferSource, which `pipeThrough` on a byte stream refuses.)
    const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
    for await (const chunk of stream.pipeThrough(decoder)) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      parts.forEach(push);
    }
    push(rest);
  })().catch(() => {});
  return { lines, done, last: () => lines.at(-1) };
}
