// What the kernel holds for each client socket: its TCP send queue, bytes written but not yet
// acknowledged by the peer (and its receive queue, bytes arrived that the server has not read yet,
// which grows only while the event loop is behind). Node cannot cap a TCP socket's SO_SNDBUF (no setsockopt: only UDP
// sockets have setSendBufferSize), and a peer that reads nothing lets the kernel hold up to
// net.ipv4.tcp_wmem's maximum (4 MiB by default) before user space buffers a byte, so the memory
// budget counts it instead: Linux lists every TCP socket of the network namespace, with its
// tx_queue, in /proc/net/tcp and /proc/net/tcp6. Read off the event loop (fs/promises), at most
// one read at a time, once a budget sweep; elsewhere (no such files) it counts 0 and says so.
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { ClientSocket } from './session.ts';
import { tcpSocketOf } from './ws-internals.ts';

export interface KernelQueues {
  /** Bytes in the kernel's send queue for the socket (written, not yet acknowledged), as of the last read; 0 when unknown. */
  sendQueue(socket: ClientSocket): number;
  /** Bytes in its receive queue (arrived, not yet read by the server); 0 when unknown. */
  receiveQueue(socket: ClientSocket): number;
  /**
   * Starts a fresh read of the tables unless one is under way, and returns its generation (what it
   * finds serves from then on, as `generation`); undefined when none started.
   */
  refresh(): number | undefined;
  /** The generation of the tables in use: 0 before the first read completes. */
  readonly generation: number;
  /** False once a read has failed (not Linux, no /proc): the kernel's share is then not counted. */
  readonly available: boolean;
}

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];
const LITTLE_ENDIAN = endianness() === 'LE';

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * The last 32 bits of an address as the kernel prints them (`%08X` of the word as stored, so byte
 * order reversed on little-endian hosts): the whole IPv4 address, also in an IPv4-mapped IPv6 one.
 */
export function lastWordHex(address: string): string | undefined {
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  let bytes: number[];
  if (v4) bytes = v4.slice(1).map(Number);
  else {
    const groups = (address.split('%')[0] ?? '').split(':');
    const high = parseInt(groups.at(-2) || '0', 16);
    const low = parseInt(groups.at(-1) || '0', 16);
    if (groups.length < 3 || Number.isNaN(high) || Number.isNaN(low)) return undefined;
    bytes = [high >> 8, high & 0xff, low >> 8, low & 0xff];
  }
  if (LITTLE_ENDIAN) bytes.reverse();
  return bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
}

/** A connection's key: the peer's address (its last 32 bits) and port, and the local port. */
function keyOf(remoteWord: string, remotePort: string, localPort: string): string {
  return `${remoteWord}:${remotePort}:${localPort}`;
}

/** The send and receive queues of the sockets that have either, in one table's text, by key. */
export function parseTable(text: string, into: Map<string, readonly [number, number]>): void {
  for (const line of text.split('\n')) {
    // "  12: 0100007F:1F90 0100007F:C350 01 0000A000:00000000 ..." (tcp6: 32 hex digits per address)
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const remote = fields[2];
    const queues = fields[4];
    if (!local || !remote || !queues || queues === '00000000:00000000') continue;
    const colon = queues.indexOf(':');
    const tx = parseInt(queues.slice(0, colon), 16);
    const rx = parseInt(queues.slice(colon + 1), 16);
    const [localAddress, localPort] = local.split(':');
    const [remoteAddress, remotePort] = remote.split(':');
    if (!localAddress || !localPort || !remoteAddress || !remotePort || !(tx + rx > 0)) continue;
    into.set(keyOf(remoteAddress.slice(-8), remotePort, localPort), [tx, rx]);
  }
}

export function createKernelQueues(tables: readonly string[] = TABLES): KernelQueues {
  let queues = new Map<string, readonly [number, number]>();
  let reading = false;
  let available = true;
  let started = 0;
  let generation = 0;

  function keyOfSocket(socket: ClientSocket): string {
    const session = socket.session;
    if (session.tcpKey !== undefined) return session.tcpKey;
    const tcp = tcpSocketOf(socket);
    const word = tcp?.remoteAddress === undefined ? undefined : lastWordHex(tcp.remoteAddress);
    // '' when the socket has no address (gone already): never in the table.
    session.tcpKey = word && tcp?.remotePort && tcp.localPort ? keyOf(word, hex4(tcp.remotePort), hex4(tcp.localPort)) : '';
    return session.tcpKey;
  }

  async function read(number: number): Promise<void> {
    const next = new Map<string, readonly [number, number]>();
    let found = 0;
    for (const table of tables) {
      try {
        parseTable(await readFile(table, 'latin1'), next);
        found++;
      } catch {
        // tcp6 is missing where IPv6 is off; neither exists off Linux.
      }
    }
    if (found === 0) available = false;
    queues = next;
    generation = number;
  }

  return {
    sendQueue(socket) {
      return queues.size === 0 ? 0 : (queues.get(keyOfSocket(socket))?.[0] ?? 0);
    },
    receiveQueue(socket) {
      return queues.size === 0 ? 0 : (queues.get(keyOfSocket(socket))?.[1] ?? 0);
    },
    refresh() {
      if (reading || !available) return undefined;
      reading = true;
      void read(++started).finally(() => (reading = false));
      return started;
    },
    get available() {
      return available;
    },
    get generation() {
      return generation;
    },
  };
}
