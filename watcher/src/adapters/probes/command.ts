// The `command` probe: runs the operator's command under /bin/sh -c, in its own process group, with the same
// minimal environment as the node commands (processNode.ts nodeEnv()), and kills the group when it outlives
// its timeout. The command prints one JSON object {version, height, syncing?}.
// Version rule: exact equality, as for the `lockstep` probe: the command prints the manifest's spelling.
import { spawn } from "node:child_process";
import type { NodeStatus } from "../../ports";
import { nodeEnv } from "../nodeEnv";
import { readLockstep } from "./lockstep";

const MAX_OUTPUT = 64 * 1024;

export async function probeCommand(command: string, timeoutMs: number): Promise<NodeStatus | undefined> {
  const output = await runProbeCommand(command, timeoutMs);
  if (output === undefined) return undefined;
  try {
    return readLockstep(JSON.parse(output));
  } catch {
    return undefined; // not JSON
  }
}

/** The command's stdout when it exits 0 in time, else undefined. */
function runProbeCommand(command: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn("/bin/sh", ["-c", command], {
        env: nodeEnv(),
        detached: true,
        stdio: ["ignore", "pipe", "ignore"],
      });
    } catch {
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const kill = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone already
      }
    };
    const timer = setTimeout(() => {
      kill();
      resolve(undefined);
    }, timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) {
        kill();
        return;
      }
      chunks.push(chunk);
    });
    child.on("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    // "exit", not "close": a background child the command leaves behind may hold stdout open.
    child.on("exit", (code) => {
      clearTimeout(timer);
      // Let the pipe drain what the command wrote before it exited.
      setImmediate(() =>
        resolve(code === 0 && size <= MAX_OUTPUT ? Buffer.concat(chunks).toString("utf8") : undefined),
      );
    });
  });
}
