import { HardhatUserConfig, subtask } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-ethers";
import "@nomicfoundation/hardhat-chai-matchers";
import "@nomicfoundation/hardhat-verify";
import "@typechain/hardhat";
import "solidity-coverage";
import * as dotenv from "dotenv";

dotenv.config({ quiet: true });

// The compiler is the wasm build shipped by the `solc` npm package, pinned in package.json:
// nothing is ever downloaded. Keep SOLC_VERSION equal to that package's version.
const SOLC_VERSION = "0.8.30";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const solc = require("solc");
  const longVersion: string = solc.version().replace(/\.Emscripten.*$/, "");
  if (args.solcVersion !== SOLC_VERSION || !longVersion.startsWith(SOLC_VERSION)) {
    throw new Error(
      `Lockstep compiles only with the bundled solc ${SOLC_VERSION} (npm package solc@${longVersion}); ` +
        `solidity ${args.solcVersion} was requested and no compiler may be downloaded.`,
    );
  }
  return { compilerPath: require.resolve("solc/soljson.js"), isSolcJs: true, version: SOLC_VERSION, longVersion };
});

const remote: HardhatUserConfig["networks"] = {};
if (process.env.RPC_URL) {
  remote[process.env.NETWORK || "remote"] = {
    url: process.env.RPC_URL,
    accounts: process.env.DEPLOYER_KEY ? [process.env.DEPLOYER_KEY] : [],
    chainId: process.env.CHAIN_ID ? Number(process.env.CHAIN_ID) : undefined,
  };
}

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      viaIR: true,
    },
  },
  networks: {
    hardhat: { allowUnlimitedContractSize: false },
    localhost: { url: "http://127.0.0.1:8545" },
    ...remote,
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  mocha: { timeout: 120_000 },
  etherscan: { apiKey: process.env.ETHERSCAN_API_KEY ?? "" },
  sourcify: { enabled: false },
};

export default config;
