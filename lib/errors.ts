// The contracts' custom errors in words, for people: the dashboard shows these when a transaction would revert or
// did, and the tasks print them. The decoding (ABI → name and arguments) is the caller's; this file only words them.
import { UpgradeState } from "./coordinator";
import { isoTime, tokens as formatTokens } from "./format";
import { PROPOSAL_STATES } from "./governance";

type Args = readonly unknown[];

const stateName = (x: unknown) => UpgradeState[Number(x)] ?? `state ${x}`;
const when = (t: unknown) => isoTime(Number(t));
const tokens = (x: unknown) => formatTokens(BigInt(x as bigint));
/** OZ Governor's expectedStates bitmap (bit i = ProposalState i) as names. */
const states = (bitmap: unknown) =>
  PROPOSAL_STATES.filter((_, i) => (BigInt(bitmap as bigint) >> BigInt(i)) & 1n).join(" or ") || "none";

/** UpgradeCoordinator's expectedStates bitmap (bit i = UpgradeState i) as names. */
const upgradeStates = (bitmap: unknown) =>
  Object.values(UpgradeState)
    .filter((v): v is number => typeof v === "number" && ((BigInt(bitmap as bigint) >> BigInt(v)) & 1n) === 1n)
    .map(stateName)
    .join(" or ") || "none";

/** TimelockController's expectedStates bitmap (bit i = OperationState i) as names. */
const timelockStates = (bitmap: unknown) =>
  ["unset", "waiting", "ready", "done"].filter((_, i) => (BigInt(bitmap as bigint) >> BigInt(i)) & 1n).join(" or ") ||
  "in the expected state";

const WORDS: Record<string, (a: Args) => string> = {
  // coordinator: roles and state
  CoordinatorUnauthorized: (a) => `${a[0]} does not hold the role this action needs`,
  CoordinatorUnknownUpgrade: (a) => `there is no upgrade #${a[0]}`,
  CoordinatorUnexpectedState: (a) =>
    Number(a[1]) === UpgradeState.None
      ? `there is no upgrade #${a[0]}`
      : a[2] === undefined
        ? `upgrade #${a[0]} is ${stateName(a[1])}, so this action is not possible now`
        : `upgrade #${a[0]} is ${stateName(a[1])}; this needs it to be ${upgradeStates(a[2])}`,
  CoordinatorUpgradeInFlight: (a) => `upgrade #${a[0]} is still open: it must end before another is scheduled`,
  CoordinatorRoleConflict: () => "the guardian cannot be the governance address",
  CoordinatorNothingActivated: (a) =>
    `no stage of upgrade #${a[0]} has been activated, so there is nothing to roll back (governance can withdraw it instead)`,
  CoordinatorNoActiveStage: (a) => `upgrade #${a[0]} has no active stage`,
  // coordinator: manifests
  CoordinatorEmptyName: () => "the manifest has no name",
  CoordinatorDuplicateName: (a) => `the name "${a[0]}" is already used by upgrade #${a[1]}`,
  CoordinatorInvalidVersion: (a) => `"${a[0]}" is not a valid version`,
  CoordinatorInvalidPreviousVersion: (a) => `"${a[0]}" is not a valid previous version`,
  CoordinatorEmptyManifestHash: () => "the manifest hash is empty",
  CoordinatorNoArtifacts: () => "the manifest lists no artifact",
  CoordinatorTooMany: (a) => `too many ${a[0]}: ${a[1]}, at most ${a[2]}`,
  CoordinatorInvalidArtifact: (a) => `artifact ${a[0]} has no platform or no URI`,
  CoordinatorEmptyDigest: (a) => `artifact ${a[0]} has no sha256 digest`,
  CoordinatorNoStages: () => "the manifest has no stage",
  CoordinatorInvalidCohort: (a) => `stage ${a[0]} names cohort ${a[1]}, which is not a valid cohort`,
  CoordinatorDuplicateCohort: (a) => `stage ${a[0]} names cohort ${a[1]} a second time`,
  CoordinatorEmptyCohort: (a) => `stage ${a[0]}'s cohort ${a[1]} has no stake`,
  CoordinatorThresholdOutOfRange: (a) => `stage ${a[0]} has a threshold of ${a[1]} basis points, outside 0..10000`,
  CoordinatorZeroDeadline: (a) => `stage ${a[0]} has no attestation deadline`,
  // coordinator: attestations
  CoordinatorUnknownStage: (a) => `upgrade #${a[0]} has no stage ${a[1]}`,
  CoordinatorNotAttester: (a) => `${a[1]} is not the attester of validator ${a[0]}`,
  CoordinatorNotInCohort: (a) => `validator ${a[0]} is in cohort ${a[1]}, not in this stage's cohort ${a[2]}`,
  CoordinatorStageNotPending: (a) => `stage ${a[1]} of upgrade #${a[0]} is no longer pending`,
  CoordinatorStageNotActivated: (a) => `stage ${a[1]} of upgrade #${a[0]} has not been activated`,
  CoordinatorInvalidStatus: (a) => `${a[0]} is not a status that can be reported here`,
  CoordinatorVersionMismatch: (a) => `the reported version is not upgrade #${a[0]}'s version`,
  CoordinatorStaleAttestation: (a) => `validator ${a[0]} already reported something newer (issued ${when(a[2])})`,
  CoordinatorFutureAttestation: (a) => `the attestation is dated in the future (${when(a[0])})`,
  CoordinatorSignatureExpired: (a) => `the signature expired at ${when(a[0])}`,
  CoordinatorMalformedBatch: (a) => `a relayed batch of ${a[0]} bytes is not a whole number of attestations`,
  // coordinator: advancing
  CoordinatorTimelockActive: (a) => `stage ${a[1]} of upgrade #${a[0]} is time-locked until ${when(a[2])}`,
  CoordinatorNotReady: (a) =>
    `stage ${a[1]} of upgrade #${a[0]} is not ready: ${tokens(a[2])} of ${tokens(a[3])} stake needed has reported Ready`,
  CoordinatorObservationActive: (a) =>
    `stage ${a[1]} of upgrade #${a[0]} is still in its observation window until ${when(a[2])}`,
  CoordinatorBelowThreshold: (a) =>
    `stage ${a[1]} of upgrade #${a[0]} is not proven healthy: ${tokens(a[2])} of ${tokens(a[3])} stake needed`,
  CoordinatorUnhealthy: (a) =>
    `stage ${a[1]} of upgrade #${a[0]} is unhealthy: ${tokens(a[2])} stake unhealthy, limit ${tokens(a[3])}`,
  CoordinatorDeadlineNotPassed: (a) =>
    `stage ${a[1]} of upgrade #${a[0]}'s attestation deadline has not passed (${when(a[2])})`,
  CoordinatorParticipationMet: (a) =>
    `stage ${a[1]} of upgrade #${a[0]} has enough healthy stake (${tokens(a[2])} of ${tokens(a[3])}): no participation pause`,
  // registry
  RegistryAlreadyRegistered: (a) => `${a[0]} is already registered as a validator`,
  RegistryNotRegistered: (a) => `${a[0]} is not a registered validator`,
  RegistryAttesterUnavailable: (a) => `attester ${a[0]} is already used by validator ${a[1]}`,
  RegistryInvalidCohort: (a) => `${a[0]} is not a valid cohort`,
  // governor
  GovernorAlreadyCastVote: (a) => `${a[0]} has already voted on this proposal`,
  GovernorUnexpectedProposalState: (a) =>
    BigInt(a[2] as bigint) === 0n
      ? `a proposal with exactly these calls and description already exists (${PROPOSAL_STATES[Number(a[1])] ?? a[1]}): change the description to make a new one`
      : `the proposal is ${PROPOSAL_STATES[Number(a[1])] ?? a[1]}; this needs it to be ${states(a[2])}`,
  GovernorNonexistentProposal: () => "there is no such proposal",
  GovernorInsufficientProposerVotes: (a) => `${a[0]} has ${tokens(a[1])} votes; proposing needs ${tokens(a[2])}`,
  GovernorAlreadyQueuedProposal: () => "the proposal is already queued",
  GovernorOnlyExecutor: (a) => `${a[0]} is not the executor (the timelock)`,
  GovernorInvalidVoteType: () => "that is not a valid vote (for, against or abstain)",
  GovernorInvalidSignature: (a) => `the vote signature is not ${a[0]}'s`,
  GovernorUnableToCancel: (a) => `${a[1]} cannot cancel this proposal now`,
  GovernorRestrictedProposer: (a) => `${a[0]} may not make this proposal`,
  GovernorInvalidProposalLength: () => "the proposal's targets, values and calls differ in length",
  GovernorProposalQueueingNotRequired: () => "this proposal needs no queueing",
  // timelock and token
  TimelockUnexpectedOperationState: (a) =>
    `the timelock operation is not ${timelockStates(a[1])} (its delay may not have passed, or it ran already)`,
  TimelockUnexecutedPredecessor: () => "the timelock operation waits for an earlier one",
  TimelockUnauthorizedCaller: (a) => `${a[0]} may not call the timelock`,
  ERC20InsufficientBalance: (a) => `${a[0]} has ${tokens(a[1])} tokens; ${tokens(a[2])} needed`,
  ERC5805FutureLookup: (a) => `block ${a[0]} is not mined yet (now ${a[1]})`,
  VotesExpiredSignature: (a) => `the delegation signature expired at ${when(a[0])}`,
  StakeTokenUnauthorizedRegistry: (a) => `${a[0]} is not the registry`,
};

/** The error in words, e.g. "upgrade #3 is Paused, so this action is not possible now". Unknown errors keep their name. */
export function errorInWords(name: string, args: Args = []): string {
  const words = WORDS[name];
  const raw = `${name}(${args.map(String).join(", ")})`;
  return words ? words(args) : `the contract refused with ${raw}`;
}
