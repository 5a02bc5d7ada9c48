// `ws` exports its Sender (lib/sender.js, public since ws 2), but @types/ws does not declare it.
// Only the static framing function this server uses is declared here.
import 'ws';

declare module 'ws' {
  interface FrameOptions {
    fin: boolean;
    opcode: number;
    mask: boolean;
    readOnly: boolean;
    rsv1: boolean;
  }
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class
  export class Sender {
    /** The frame's header and payload (unmasked frames: two buffers; masked and read-only: one). */
    static frame(data: Buffer, options: FrameOptions): Buffer[];
  }
}
