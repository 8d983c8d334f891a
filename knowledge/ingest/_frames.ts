/**
 * Length-prefixed frames between the node and its extractor processes, over the child's stdin and
 * stdout: a 4-byte big-endian length, then that many bytes. A request is two frames (a JSON
 * header, then the file); a reply is one JSON frame.
 */

/** The largest frame accepted unless the reader is given its own bound. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, 4);
  return out;
}

/** Reads whole frames from a byte stream; `null` once the stream ends between frames. */
export class FrameReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffered: Uint8Array[] = [];
  #size = 0;
  readonly #maxBytes: number;

  constructor(stream: ReadableStream<Uint8Array>, { maxBytes = MAX_FRAME_BYTES } = {}) {
    this.#reader = stream.getReader();
    this.#maxBytes = maxBytes;
  }

  async next(): Promise<Uint8Array | null> {
    const head = await this.#take(4);
    if (!head) return null;
    const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
    if (length > this.#maxBytes) {
      throw new Error(`A frame of ${length} bytes is over the ${this.#maxBytes}-byte bound`);
    }
    const body = await this.#take(length);
    if (!body) throw new Error("Stream ended inside a frame");
    return body;
  }

  async #take(n: number): Promise<Uint8Array | null> {
    while (this.#size < n) {
      const { value, done } = await this.#reader.read();
      if (done) {
        if (this.#size === 0) return null;
        throw new Error("Stream ended inside a frame");
      }
      this.#buffered.push(value);
      this.#size += value.length;
    }
    const all = this.#buffered.length === 1 ? this.#buffered[0]! : concat(this.#buffered);
    this.#buffered = all.length > n ? [all.subarray(n)] : [];
    this.#size = all.length - n;
    return all.subarray(0, n);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
