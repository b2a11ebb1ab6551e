//! Tracing, as geth (`debug_trace*`) and parity (`trace_*`) serve it, with `revm-inspectors`'
//! tracers: a traced transaction is re-executed in its block, on its parent's state (within the
//! state history window), exactly as the block ran it; a traced call runs like `eth_call`.
//!
//! Bounded: at most [`MAX_TRACES`] traces run at once, each stops after its time limit (geth's
//! `timeout` option, [`DEFAULT_TIMEOUT`] by default and [`MAX_TIMEOUT`] at most), and the opcode
//! logger keeps at most [`MAX_STRUCT_LOGS`] steps, and what a trace copies is bounded by
//! [`MAX_TRACE_BYTES`]; past any of them the answer is a clear error.
use crate::{
    Backend, RpcError,
    blocks::{check_history, resolve_id, resolve_number},
    call,
    error::Result,
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{B256, map::HashSet};
use alloy_rpc_types_eth::{AccessList, AccessListResult, TransactionInfo, TransactionRequest};
use alloy_rpc_types_trace::{
    geth::{GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace, TraceResult},
    parity::{LocalizedTransactionTrace, TraceResults, TraceResultsWithTransactionHash, TraceType},
};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use parking_lot::Mutex;
use revm::{
    Inspector,
    context_interface::{ContextError, ContextTr},
    interpreter::{
        CallInputs, CallOutcome, CreateInputs, CreateOutcome, FrameInput, InstructionResult,
        Interpreter,
    },
    primitives::{Address, Log, U256},
};
use revm_inspectors::access_list::AccessListInspector;
use revm_inspectors::tracing::{
    DebugInspector, TracingInspector, TracingInspectorConfig, TransactionContext,
};
use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tandem_execution::{BlockAttributes, Executor, Traced, Tracer};
use tandem_primitives::{Layer, SealedBlock};
use tandem_state::{HistoricalState, LatestState, NodeSource, StateReader};
use tandem_storage::Reader;

/// Traces that may run at once on one node; more are refused until one finishes.
pub const MAX_TRACES: usize = 2;
/// How long a trace may run unless its `timeout` says less (geth's default for its JS tracers).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest `timeout` a caller may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
/// The most opcode steps the default (struct log) tracer, or parity's VM trace, records for one
/// request.
pub const MAX_STRUCT_LOGS: u64 = 100_000;
/// About how many bytes one request's answer may hold: what its tracer copies (call inputs and
/// outputs, created code, log data; for the opcode logger each step's stack, memory, return data
/// and storage), counted as it runs, so it stops before it holds them.
pub const MAX_TRACE_BYTES: u64 = 64 << 20;

/// geth's and parity's tracing methods.
#[rpc(server)]
pub trait TraceApi {
    #[method(name = "debug_traceTransaction", blocking)]
    fn trace_transaction(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace>;
    #[method(name = "debug_traceBlockByNumber", blocking)]
    fn trace_block_by_number(
        &self,
        block: BlockNumberOrTag,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>>;
    #[method(name = "debug_traceBlockByHash", blocking)]
    fn trace_block_by_hash(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>>;
    #[method(name = "debug_traceCall", blocking)]
    fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        options: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace>;
    #[method(name = "trace_transaction", blocking)]
    fn parity_transaction(&self, hash: B256) -> RpcResult<Option<Vec<LocalizedTransactionTrace>>>;
    #[method(name = "trace_block", blocking)]
    fn parity_block(&self, block: BlockId) -> RpcResult<Option<Vec<LocalizedTransactionTrace>>>;
    #[method(name = "trace_replayBlockTransactions", blocking)]
    fn parity_replay_block(
        &self,
        block: BlockId,
        trace_types: HashSet<TraceType>,
    ) -> RpcResult<Option<Vec<TraceResultsWithTransactionHash>>>;
    #[method(name = "trace_call", blocking)]
    fn parity_call(
        &self,
        request: TransactionRequest,
        trace_types: HashSet<TraceType>,
        block: Option<BlockId>,
    ) -> RpcResult<TraceResults>;
}

/// EIP-2930's access list of a call (`eth_createAccessList`), found as geth finds it: by tracing
/// the call with the list so far until the list stops changing.
#[rpc(server)]
pub trait AccessListApi {
    #[method(name = "eth_createAccessList", blocking)]
    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<AccessListResult>;
}

/// How many times `eth_createAccessList` runs the call, at most, for the list to settle.
const ACCESS_LIST_ROUNDS: usize = 4;

/// The tracing handlers of one node.
#[derive(Debug, Clone)]
pub(crate) struct Tracing {
    backend: Backend,
    running: Arc<AtomicUsize>,
}

impl Tracing {
    pub(crate) fn new(backend: Backend) -> Self {
        let running = Arc::default();
        Self { backend, running }
    }

    /// A place among the [`MAX_TRACES`] that may run at once.
    fn slot(&self) -> Result<Slot> {
        Slot::take(&self.running)
    }
}

/// A running trace's place; it frees itself when dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(running: &Arc<AtomicUsize>) -> Result<Self> {
        let taken = running.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(running.clone());
        match taken < MAX_TRACES {
            true => Ok(slot),
            false => Err(RpcError::limit(format!(
                "{MAX_TRACES} traces are already running; try again when one has finished"
            ))),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Which transactions of a block a tracer traces.
#[derive(Debug, Clone, Copy)]
enum Want {
    One(usize),
    All,
}

/// What each traced transaction gave: its index in the block, hash, and answer (or why not).
type Answers<T> = Arc<Mutex<BTreeMap<usize, (B256, Result<T, String>)>>>;

/// How to trace one transaction: the inspector to run it under, and the answer it gives.
trait Recipe: Send {
    type Inspector: Send + 'static;
    type Answer: Send;
    /// A fresh inspector; an error is the transaction's answer (it then runs plainly).
    fn make(&mut self) -> Result<Self::Inspector, String>;
    fn finish(
        &mut self,
        inspector: &mut Self::Inspector,
        ran: &Traced<'_>,
    ) -> Result<Self::Answer, String>;
}

/// A [`Tracer`] that runs each wanted transaction under a fresh inspector of its [`Recipe`] and
/// keeps the answers.
struct Collect<R: Recipe> {
    want: Want,
    recipe: R,
    limits: Limits,
    current: Option<Arc<Mutex<Guarded<R::Inspector>>>>,
    answers: Answers<R::Answer>,
}

impl<R: Recipe> Collect<R> {
    fn new(want: Want, limits: Limits, recipe: R) -> Self {
        let answers = Arc::default();
        Self {
            want,
            recipe,
            limits,
            current: None,
            answers,
        }
    }
}

impl<CTX: ContextTr, R: Recipe> Tracer<CTX> for Collect<R>
where
    R::Inspector: Inspector<CTX>,
{
    fn begin(&mut self, index: usize, hash: B256) -> Option<Box<dyn Inspector<CTX> + Send>> {
        if matches!(self.want, Want::One(wanted) if wanted != index) {
            // Replayed, not traced: it only keeps to the trace's time limit.
            let limits = self.limits.clone();
            return Some(Box::new(Watchdog { limits, steps: 0 }));
        }
        let inspector = match self.recipe.make() {
            Ok(inspector) => inspector,
            Err(why) => {
                self.answers.lock().insert(index, (hash, Err(why)));
                return None;
            }
        };
        let guarded = Arc::new(Mutex::new(Guarded::new(inspector, self.limits.clone())));
        self.current = Some(guarded.clone());
        Some(Box::new(Shared(guarded)))
    }

    fn end(&mut self, ran: Traced<'_>) {
        let Some(current) = self.current.take() else {
            return;
        };
        let mut guarded = current.lock();
        let answer = self.recipe.finish(&mut guarded.inner, &ran);
        self.answers.lock().insert(ran.index, (ran.hash, answer));
    }
}

/// geth's tracers: `debug_trace*`.
struct Geth {
    template: DebugInspector,
    /// geth's `limit`: at most this many opcode steps in the answer.
    keep: Option<usize>,
    /// The block the traced transactions are in (none for a call).
    block_hash: Option<B256>,
}

impl Geth {
    /// The tracer `options` ask for, and how far it may go.
    fn new(options: &GethDebugTracingOptions, block_hash: Option<B256>) -> Result<(Self, Limits)> {
        let template = DebugInspector::new(options.clone())
            .map_err(|e| RpcError::invalid_params(format!("tracer: {e}")))?;
        if matches!(template, DebugInspector::Erc7562Tracer(..)) {
            // It keeps every keccak preimage: a transaction's worth can be hundreds of megabytes.
            return Err(RpcError::invalid_params("erc7562Tracer is not served"));
        }
        let step_cost = match &template {
            DebugInspector::Default(_, logger) => Some(StepCost::struct_logs(logger)),
            _ => None,
        };
        let limits = Limits::new(options.timeout.as_deref(), step_cost)?;
        let keep = options
            .config
            .limit
            .filter(|limit| *limit > 0)
            .map(|l| l as usize);
        Ok((
            Self {
                template,
                keep,
                block_hash,
            },
            limits,
        ))
    }
}

impl Recipe for Geth {
    type Inspector = DebugInspector;
    type Answer = GethTrace;

    fn make(&mut self) -> Result<DebugInspector, String> {
        self.template.try_clone().map_err(|e| e.to_string())
    }

    fn finish(
        &mut self,
        inspector: &mut DebugInspector,
        ran: &Traced<'_>,
    ) -> Result<GethTrace, String> {
        let context = self.block_hash.map(|hash| {
            TransactionContext::default()
                .with_block_hash(hash)
                .with_tx_index(ran.index)
                .with_tx_hash(ran.hash)
        });
        let mut db = ran.db;
        let mut trace = inspector
            .get_result(context, ran.env, ran.block, ran.outcome, &mut db)
            .map_err(|e| e.to_string())?;
        if let (GethTrace::Default(frame), Some(keep)) = (&mut trace, self.keep) {
            frame.struct_logs.truncate(keep);
        }
        Ok(trace)
    }
}

/// Parity's flat call traces (`trace_transaction`, `trace_block`) of a block's transactions.
struct ParityFlat {
    block: SealedBlockInfo,
}

/// What a parity trace says of the block its transaction is in.
#[derive(Debug, Clone, Copy)]
struct SealedBlockInfo {
    hash: B256,
    number: u64,
    timestamp: u64,
    base_fee: Option<u64>,
}

impl Recipe for ParityFlat {
    type Inspector = TracingInspector;
    type Answer = Vec<LocalizedTransactionTrace>;

    fn make(&mut self) -> Result<TracingInspector, String> {
        Ok(TracingInspector::new(
            TracingInspectorConfig::default_parity(),
        ))
    }

    fn finish(
        &mut self,
        inspector: &mut TracingInspector,
        ran: &Traced<'_>,
    ) -> Result<Self::Answer, String> {
        let info = TransactionInfo {
            hash: Some(ran.hash),
            index: Some(ran.index as u64),
            block_hash: Some(self.block.hash),
            block_number: Some(self.block.number),
            block_timestamp: Some(self.block.timestamp),
            base_fee: self.block.base_fee,
        };
        let gas = ran.outcome.result.tx_gas_used();
        Ok(std::mem::replace(
            inspector,
            TracingInspector::new(TracingInspectorConfig::default_parity()),
        )
        .into_parity_builder()
        .with_transaction_gas_used(gas)
        .into_localized_transaction_traces(info))
    }
}

/// Parity's replays (`trace_replayBlockTransactions`, `trace_call`): the trace types asked for.
struct ParityReplay {
    trace_types: HashSet<TraceType>,
}

impl ParityReplay {
    /// A VM trace records every opcode step: it stops at the same cap as geth's opcode logger.
    fn limits(trace_types: &HashSet<TraceType>) -> Result<Limits> {
        let vm_trace = trace_types.contains(&TraceType::VmTrace);
        // A VM trace keeps each step's pushed words and memory writes; counting the memory a
        // step can write is the safe side.
        let cost = StepCost {
            stack: true,
            memory: true,
            ..StepCost::default()
        };
        Limits::new(None, vm_trace.then_some(cost))
    }
}

impl Recipe for ParityReplay {
    type Inspector = TracingInspector;
    type Answer = TraceResults;

    fn make(&mut self) -> Result<TracingInspector, String> {
        Ok(TracingInspector::new(
            TracingInspectorConfig::from_parity_config(&self.trace_types),
        ))
    }

    fn finish(
        &mut self,
        inspector: &mut TracingInspector,
        ran: &Traced<'_>,
    ) -> Result<TraceResults, String> {
        let config = TracingInspectorConfig::from_parity_config(&self.trace_types);
        let gas = ran.outcome.result.tx_gas_used();
        std::mem::replace(inspector, TracingInspector::new(config))
            .into_parity_builder()
            .with_transaction_gas_used(gas)
            .into_trace_results_with_state(ran.outcome, &self.trace_types, ran.db)
            .map_err(|e| e.to_string())
    }
}

/// An access list: what a call touches beyond its sender, its target and the precompiles.
struct AccessLists {
    seed: AccessList,
}

impl Recipe for AccessLists {
    type Inspector = AccessListInspector;
    /// The list, the gas the call used, and why it failed, if it did.
    type Answer = (AccessList, u64, Option<String>);

    fn make(&mut self) -> Result<AccessListInspector, String> {
        Ok(AccessListInspector::new(self.seed.clone()))
    }

    fn finish(
        &mut self,
        inspector: &mut AccessListInspector,
        ran: &Traced<'_>,
    ) -> Result<Self::Answer, String> {
        use revm::context_interface::result::ExecutionResult;
        let error = match &ran.outcome.result {
            ExecutionResult::Success { .. } => None,
            ExecutionResult::Revert { .. } => Some("execution reverted".to_string()),
            ExecutionResult::Halt { reason, .. } => Some(format!("{reason:?}")),
        };
        let gas = ran.outcome.result.tx_gas_used();
        Ok((inspector.access_list(), gas, error))
    }
}

/// How far one trace may go: its deadline, the opcode steps and the bytes all its transactions
/// together may take (a whole block's trace is bounded, not each transaction's).
#[derive(Debug, Clone)]
struct Limits {
    deadline: Instant,
    steps: Option<u64>,
    /// What each opcode step adds to the answer (the opcode logger, a VM trace).
    step_cost: Option<StepCost>,
    taken: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    storage_ops: Arc<AtomicU64>,
}

/// What one opcode step copies into a trace, as hex.
#[derive(Debug, Clone, Copy, Default)]
struct StepCost {
    stack: bool,
    memory: bool,
    return_data: bool,
    /// The opcode logger copies the contract's storage so far at each SLOAD and SSTORE.
    storage: bool,
}

impl StepCost {
    /// geth's opcode logger with these options.
    fn struct_logs(options: &alloy_rpc_types_trace::geth::GethDefaultTracingOptions) -> Self {
        Self {
            stack: !options.disable_stack.unwrap_or(false),
            memory: options.enable_memory.unwrap_or(false),
            return_data: options.enable_return_data.unwrap_or(false),
            storage: !options.disable_storage.unwrap_or(false),
        }
    }
}

impl Limits {
    fn new(timeout: Option<&str>, step_cost: Option<StepCost>) -> Result<Self> {
        let timeout = match timeout {
            None => DEFAULT_TIMEOUT,
            Some(text) => parse_timeout(text).ok_or_else(|| {
                RpcError::invalid_params(format!("timeout {text:?} is not a duration like \"10s\""))
            })?,
        };
        Ok(Self {
            deadline: Instant::now() + timeout.min(MAX_TIMEOUT),
            steps: step_cost.map(|_| MAX_STRUCT_LOGS),
            step_cost,
            taken: Arc::default(),
            bytes: Arc::default(),
            storage_ops: Arc::default(),
        })
    }

    /// Counts `bytes` more into the answer; why the trace must stop, past the budget.
    fn charge(&self, bytes: usize) -> Option<String> {
        let hex = (bytes as u64).saturating_mul(2).saturating_add(64);
        let total = self
            .bytes
            .fetch_add(hex, Ordering::Relaxed)
            .saturating_add(hex);
        (total > MAX_TRACE_BYTES).then(|| {
            format!(
                "the trace would hold more than {} MiB: trace fewer or smaller transactions, or with a lighter tracer",
                MAX_TRACE_BYTES >> 20
            )
        })
    }

    /// Whether the deadline has passed.
    fn late(&self) -> Option<String> {
        (Instant::now() > self.deadline)
            .then(|| "execution timeout: the trace took longer than its time limit".to_string())
    }
}

/// A Go duration as geth takes it: "500ms", "10s", "1m", "1m30s".
fn parse_timeout(text: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3_600.0,
            _ => return None,
        };
        total = total.checked_add(Duration::try_from_secs_f64(value * scale).ok()?)?;
        rest = &rest[unit..];
    }
    Some(total)
}

/// An inspector that stops the transaction, with an error the trace reports, once it runs past
/// its deadline or its step budget.
struct Guarded<I> {
    inner: I,
    limits: Limits,
}

impl<I> Guarded<I> {
    fn new(inner: I, limits: Limits) -> Self {
        Self { inner, limits }
    }

    /// Why the transaction must stop at this step, if it must (the clock is read every 1,024
    /// steps).
    fn step(&mut self, interp: &Interpreter) -> Option<String> {
        use revm::interpreter::interpreter_types::{Jumps, MemoryTr, ReturnData};
        let steps = self.limits.taken.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(most) = self.limits.steps.filter(|most| steps > *most) {
            return Some(format!(
                "the trace has more than {most} steps: trace with a tracer (callTracer), or a lower limit"
            ));
        }
        if let Some(cost) = self.limits.step_cost {
            let mut bytes = 32;
            if cost.stack {
                bytes += interp.stack.len() * 33;
            }
            if cost.memory {
                bytes += interp.memory.size();
            }
            if cost.return_data {
                bytes += interp.return_data.buffer().len();
            }
            if cost.storage && matches!(interp.bytecode.opcode(), 0x54 | 0x55) {
                let seen = self.limits.storage_ops.fetch_add(1, Ordering::Relaxed) + 1;
                bytes = bytes.saturating_add((seen as usize).saturating_mul(64));
            }
            if let Some(why) = self.limits.charge(bytes) {
                return Some(why);
            }
        }
        match steps.is_multiple_of(1_024) {
            true => self.limits.late(),
            false => None,
        }
    }
}

/// Keeps a transaction a trace replays, but does not trace, to the trace's time limit.
struct Watchdog {
    limits: Limits,
    steps: u64,
}

impl<CTX: ContextTr> Inspector<CTX> for Watchdog {
    fn step(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        self.steps += 1;
        if let Some(why) = self
            .steps
            .is_multiple_of(1_024)
            .then(|| self.limits.late())
            .flatten()
        {
            stop(context, why);
        }
        if context.error().is_err() {
            interp.halt(InstructionResult::OutOfGas);
        }
    }
}

/// Stops the transaction with `why`: the EVM fails it with this error at the end of the frame.
fn stop<CTX: ContextTr>(context: &mut CTX, why: String) {
    if context.error().is_ok() {
        *context.error() = Err(ContextError::Custom(why));
    }
}

/// A [`Guarded`] inspector the tracer keeps a handle on while the EVM runs it.
struct Shared<I>(Arc<Mutex<Guarded<I>>>);

impl<CTX: ContextTr, I: Inspector<CTX>> Inspector<CTX> for Shared<I> {
    fn initialize_interp(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        self.0.lock().inner.initialize_interp(interp, context)
    }

    fn step(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        let mut guarded = self.0.lock();
        if let Some(why) = guarded.step(interp) {
            stop(context, why);
        }
        if context.error().is_err() {
            // The EVM stops at this frame and fails the transaction with the error.
            interp.halt(InstructionResult::OutOfGas);
            return;
        }
        guarded.inner.step(interp, context)
    }

    fn step_end(&mut self, interp: &mut Interpreter, context: &mut CTX) {
        self.0.lock().inner.step_end(interp, context)
    }

    fn log(&mut self, context: &mut CTX, log: Log) {
        let guarded = &mut *self.0.lock();
        match guarded
            .limits
            .charge(log.data.data.len() + 32 * log.topics().len())
        {
            Some(why) => stop(context, why),
            None => guarded.inner.log(context, log),
        }
    }

    fn log_full(&mut self, interp: &mut Interpreter, context: &mut CTX, log: Log) {
        let guarded = &mut *self.0.lock();
        match guarded
            .limits
            .charge(log.data.data.len() + 32 * log.topics().len())
        {
            Some(why) => stop(context, why),
            None => guarded.inner.log_full(interp, context, log),
        }
    }

    fn frame_start(
        &mut self,
        context: &mut CTX,
        frame: &mut FrameInput,
    ) -> Option<revm::handler::FrameResult> {
        let guarded = &mut *self.0.lock();
        // What a call or create tracer copies: the input, or the code created.
        let bytes = match &*frame {
            FrameInput::Call(call) => call.input.len(),
            FrameInput::Create(create) => create.init_code().len(),
            FrameInput::Empty => 0,
        };
        if let Some(why) = guarded
            .limits
            .charge(bytes)
            .or_else(|| guarded.limits.late())
        {
            stop(context, why);
        }
        guarded.inner.frame_start(context, frame)
    }

    fn frame_end(
        &mut self,
        context: &mut CTX,
        frame: &FrameInput,
        result: &mut revm::handler::FrameResult,
    ) {
        let guarded = &mut *self.0.lock();
        let output = match &*result {
            revm::handler::FrameResult::Call(outcome) => outcome.result.output.len(),
            revm::handler::FrameResult::Create(outcome) => outcome.result.output.len(),
        };
        if let Some(why) = guarded.limits.charge(output) {
            stop(context, why);
        }
        guarded.inner.frame_end(context, frame, result)
    }

    fn call(&mut self, context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        self.0.lock().inner.call(context, inputs)
    }

    fn call_end(&mut self, context: &mut CTX, inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.0.lock().inner.call_end(context, inputs, outcome)
    }

    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.0.lock().inner.create(context, inputs)
    }

    fn create_end(
        &mut self,
        context: &mut CTX,
        inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        self.0.lock().inner.create_end(context, inputs, outcome)
    }

    fn selfdestruct(&mut self, contract: Address, target: Address, value: U256) {
        Inspector::<CTX>::selfdestruct(&mut self.0.lock().inner, contract, target, value)
    }
}

/// Re-executes `block` on its parent's state, running the transactions `tracer` wants under its
/// inspectors, and checks the replay reproduced the stored block.
fn replay<C>(backend: &Backend, reader: &Reader, block: &SealedBlock, tracer: C) -> Result<()>
where
    C: for<'r> Tracer<tandem_execution::TraceContext<&'r dyn StateReader>>
        + for<'r, 's> Tracer<
            tandem_execution::TraceContext<
                tandem_execution::budget::Metered<'r, &'s dyn StateReader>,
            >,
        > + 'static,
{
    let number = block.number();
    let parent_number = number
        .checked_sub(1)
        .ok_or_else(|| RpcError::server("the genesis block has no transactions to trace"))?;
    check_history(reader, parent_number)?;
    let parent = reader
        .header(parent_number)?
        .ok_or_else(|| RpcError::server(format!("block {parent_number} is not stored")))?;
    let historical;
    let latest;
    let state: &dyn StateReader = match Some(parent_number) == reader.last_height() {
        true => {
            latest = LatestState(reader);
            &latest
        }
        false => {
            historical = HistoricalState::new(reader, parent.state_root).map_err(|_| {
                RpcError::server(format!("the state of block {parent_number} is not kept"))
            })?;
            &historical
        }
    };
    let chain = &backend.chain;
    let replayed = match chain.layer {
        Layer::L1 => {
            let header = block.header();
            let attrs = BlockAttributes {
                timestamp: header.timestamp,
                beneficiary: header.beneficiary,
                prev_randao: header.mix_hash,
            };
            let mut executor = Executor::new(reader, state, chain, &parent, &attrs);
            executor.trace(Box::new(tracer));
            for stored in &block.block.transactions {
                executor
                    .execute(stored.tx.clone(), stored.sender)
                    .map_err(|e| stopped(number, e))?;
            }
            executor.finish().map_err(|e| stopped(number, e))?
        }
        Layer::L2 => {
            let inputs = tandem_execution::witness::inputs_of(block, &parent)
                .ok_or_else(|| RpcError::server(format!("block {number} has no L1 origin")))?;
            tandem_execution::l2::execute_l2_block_traced(
                NodeSource::from(reader),
                state,
                chain,
                &parent,
                &inputs,
                Some(Box::new(tracer)),
            )
            .map_err(|e| RpcError::server(format!("tracing block {number}: {e}")))?
            .executed
        }
    };
    let (got, want) = (replayed.block.header(), block.header());
    match replayed.block.hash == block.hash {
        true => Ok(()),
        false => Err(RpcError::server(format!(
            "re-executing block {number} did not reproduce it, so it cannot be traced (state root {} for {}, gas used {} for {}, {} transactions for {})",
            got.state_root,
            want.state_root,
            got.gas_used,
            want.gas_used,
            replayed.block.block.transactions.len(),
            block.block.transactions.len()
        ))),
    }
}

/// A replay stopped by an error: a tracer's limit, or the store.
fn stopped(number: u64, e: tandem_execution::Error) -> RpcError {
    match e {
        tandem_execution::Error::Evm(why) => RpcError::server(why),
        e => RpcError::server(format!("tracing block {number}: {e}")),
    }
}

impl TraceApiServer for Tracing {
    fn trace_transaction(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<GethTrace> {
        let _slot = self.slot()?;
        let reader = self.backend.storage.read().map_err(RpcError::from)?;
        let (block, index) = locate(&reader, hash)?;
        let options = options.unwrap_or_default();
        let (geth, limits) = Geth::new(&options, Some(block.hash))?;
        let tracer = Collect::new(Want::One(index), limits, geth);
        let answers = tracer.answers.clone();
        replay(&self.backend, &reader, &block, tracer)?;
        Ok(answer(&answers, index, || {
            format!("transaction {hash} did not run in the EVM")
        })?)
    }

    fn trace_block_by_number(
        &self,
        block: BlockNumberOrTag,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>> {
        let reader = self.backend.storage.read().map_err(RpcError::from)?;
        let number = resolve_number(&reader, block)?
            .ok_or_else(|| RpcError::server(format!("block {block} not found")))?;
        self.trace_block(&reader, number, options)
    }

    fn trace_block_by_hash(
        &self,
        hash: B256,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>> {
        let reader = self.backend.storage.read().map_err(RpcError::from)?;
        let number = reader
            .number_of(hash)
            .map_err(RpcError::from)?
            .ok_or_else(|| RpcError::server(format!("block {hash} not found")))?;
        self.trace_block(&reader, number, options)
    }

    fn trace_call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        options: Option<GethDebugTracingCallOptions>,
    ) -> RpcResult<GethTrace> {
        let _slot = self.slot()?;
        let options = options.unwrap_or_default();
        let overrides = crate::overrides::Overrides {
            state: options.state_overrides.as_ref(),
            block: options.block_overrides.as_ref(),
        };
        let (geth, limits) = Geth::new(&options.tracing_options, None)?;
        let tracer = Collect::new(Want::One(0), limits, geth);
        let answers = tracer.answers.clone();
        call::trace(&self.backend, &request, block, overrides, tracer)?;
        Ok(answer(&answers, 0, || "the call did not run".into())?)
    }

    fn parity_transaction(&self, hash: B256) -> RpcResult<Option<Vec<LocalizedTransactionTrace>>> {
        let _slot = self.slot()?;
        let reader = self.backend.storage.read().map_err(RpcError::from)?;
        if reader.tx_location(hash).map_err(RpcError::from)?.is_none() {
            return Ok(None);
        }
        let (block, index) = locate(&reader, hash)?;
        let traces = self.parity_traces(&reader, &block, Want::One(index))?;
        Ok(Some(traces))
    }

    fn parity_block(&self, block: BlockId) -> RpcResult<Option<Vec<LocalizedTransactionTrace>>> {
        let _slot = self.slot()?;
        let reader = self.backend.storage.read().map_err(RpcError::from)?;
        let Some(block) = stored_block(&reader, block)? else {
            return Ok(None);
        };
        Ok(Some(self.parity_traces(&reader, &block, Want::All)?))
    }

    fn parity_replay_block(
        &self,
        block: BlockId,
        trace_types: HashSet<TraceType>,
    ) -> RpcResult<Option<Vec<TraceResultsWithTransactionHash>>> {
        let _slot = self.slot()?;
        let reader = self.backend.storage.read().map_err(RpcError::from)?;
        let Some(block) = stored_block(&reader, block)? else {
            return Ok(None);
        };
        let tracer = Collect::new(
            Want::All,
            ParityReplay::limits(&trace_types)?,
            ParityReplay { trace_types },
        );
        let answers = tracer.answers.clone();
        replay(&self.backend, &reader, &block, tracer)?;
        let answers = std::mem::take(&mut *answers.lock());
        let results = answers
            .into_values()
            .map(|(hash, answer)| {
                let full_trace = answer.map_err(RpcError::server)?;
                Ok(TraceResultsWithTransactionHash {
                    full_trace,
                    transaction_hash: hash,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(results))
    }

    fn parity_call(
        &self,
        request: TransactionRequest,
        trace_types: HashSet<TraceType>,
        block: Option<BlockId>,
    ) -> RpcResult<TraceResults> {
        let _slot = self.slot()?;
        let limits = ParityReplay::limits(&trace_types)?;
        let tracer = Collect::new(Want::One(0), limits, ParityReplay { trace_types });
        let answers = tracer.answers.clone();
        call::trace(&self.backend, &request, block, Default::default(), tracer)?;
        Ok(answer(&answers, 0, || "the call did not run".into())?)
    }
}

impl AccessListApiServer for Tracing {
    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
    ) -> RpcResult<AccessListResult> {
        let _slot = self.slot()?;
        let mut request = request;
        let mut list = request.access_list.clone().unwrap_or_default();
        for _ in 0..ACCESS_LIST_ROUNDS {
            request.access_list = Some(list.clone());
            let recipe = AccessLists { seed: list.clone() };
            let tracer = Collect::new(Want::One(0), Limits::new(None, None)?, recipe);
            let answers = tracer.answers.clone();
            call::trace(&self.backend, &request, block, Default::default(), tracer)?;
            let (found, gas, error) = answer(&answers, 0, || "the call did not run".into())?;
            if found == list {
                return Ok(AccessListResult {
                    access_list: found,
                    gas_used: alloy_primitives::U256::from(gas),
                    error,
                });
            }
            list = found;
        }
        Err(RpcError::server(format!(
            "the access list did not settle in {ACCESS_LIST_ROUNDS} runs of the call"
        ))
        .into())
    }
}

impl Tracing {
    fn trace_block(
        &self,
        reader: &Reader,
        number: u64,
        options: Option<GethDebugTracingOptions>,
    ) -> RpcResult<Vec<TraceResult>> {
        let _slot = self.slot()?;
        let block = reader
            .block(number)
            .map_err(RpcError::from)?
            .ok_or_else(|| RpcError::server(format!("block {number} not found")))?;
        let options = options.unwrap_or_default();
        let (geth, limits) = Geth::new(&options, Some(block.hash))?;
        let tracer = Collect::new(Want::All, limits, geth);
        let answers = tracer.answers.clone();
        replay(&self.backend, reader, &block, tracer)?;
        let mut answers = std::mem::take(&mut *answers.lock());
        Ok(block
            .block
            .transactions
            .iter()
            .enumerate()
            .map(|(index, stored)| {
                let tx_hash = Some(stored.tx.tx_hash());
                match answers.remove(&index) {
                    Some((_, Ok(result))) => TraceResult::Success { result, tx_hash },
                    Some((_, Err(error))) => TraceResult::Error { error, tx_hash },
                    None => TraceResult::Error {
                        error: "the transaction did not run in the EVM".into(),
                        tx_hash,
                    },
                }
            })
            .collect())
    }

    /// Parity's flat call traces of the `want`ed transactions of `block`.
    fn parity_traces(
        &self,
        reader: &Reader,
        block: &SealedBlock,
        want: Want,
    ) -> Result<Vec<LocalizedTransactionTrace>> {
        let header = block.header();
        let info = SealedBlockInfo {
            hash: block.hash,
            number: block.number(),
            timestamp: header.timestamp,
            base_fee: header.base_fee_per_gas,
        };
        let limits = Limits::new(None, None)?;
        let tracer = Collect::new(want, limits, ParityFlat { block: info });
        let answers = tracer.answers.clone();
        replay(&self.backend, reader, block, tracer)?;
        let answers = std::mem::take(&mut *answers.lock());
        let mut traces = Vec::new();
        for (_, (_, answer)) in answers {
            traces.extend(answer.map_err(RpcError::server)?);
        }
        Ok(traces)
    }
}

/// Transaction `index`'s answer; `missing` says why there is none.
fn answer<T>(answers: &Answers<T>, index: usize, missing: impl FnOnce() -> String) -> Result<T> {
    match answers.lock().remove(&index) {
        Some((_, Ok(answer))) => Ok(answer),
        Some((_, Err(why))) => Err(RpcError::server(why)),
        None => Err(RpcError::server(missing())),
    }
}

/// The block holding transaction `hash`, and its index there.
fn locate(reader: &Reader, hash: B256) -> Result<(SealedBlock, usize)> {
    let at = reader
        .tx_location(hash)?
        .ok_or_else(|| RpcError::server(format!("transaction {hash} not found")))?;
    let block = reader
        .block(at.block)?
        .ok_or_else(|| RpcError::server(format!("block {} not found", at.block)))?;
    Ok((block, at.index as usize))
}

fn stored_block(reader: &Reader, id: BlockId) -> Result<Option<SealedBlock>> {
    Ok(match resolve_id(reader, Some(id))? {
        Some(number) => reader.block(number)?,
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_max_traces_run_at_once_and_a_finished_one_frees_its_place() {
        let running = Arc::new(AtomicUsize::new(0));
        let held: Vec<_> = (0..MAX_TRACES)
            .map(|_| Slot::take(&running).unwrap())
            .collect();
        assert!(Slot::take(&running).is_err(), "one more than the most");
        drop(held);
        assert!(Slot::take(&running).is_ok());
        assert_eq!(running.load(Ordering::SeqCst), 0, "every place given back");
    }

    #[test]
    fn timeouts_read_as_go_durations() {
        assert_eq!(parse_timeout("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_timeout("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_timeout("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_timeout("1.5s"), Some(Duration::from_millis(1_500)));
        let huge = "10000000000000000000s10000000000000000000s";
        for bad in ["", "10", "s", "10x", "-1s", "1e400s", huge] {
            assert_eq!(parse_timeout(bad), None, "{bad}");
        }
    }
}
