// solidity-coverage: instrumented code is larger and slower, so the gas ceilings test skips itself under coverage
// (see test/contracts/gas.test.ts); the Yul optimizer stays on so the viaIR build compiles.
module.exports = {
  configureYulOptimizer: true,
  skipFiles: ["test/"],
};
