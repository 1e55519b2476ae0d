//! Operations, fault kinds and the fault table that decides what the next matching request suffers.
//! Faults are consumed in injection order; `Any` rules match every operation.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The logical operation a panel route performs, used for fault matching and request counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SimOp {
    Auth,
    Create,
    Get,
    List,
    Update,
    Enable,
    Disable,
    Reset,
    Delete,
    Subscription,
    /// Discovery reads: inbounds, services, nodes, system/version.
    Choices,
    /// Matches every operation when injecting; `requests(Any)` is the total.
    Any,
}

impl SimOp {
    pub const ALL: [SimOp; 12] = [
        SimOp::Auth,
        SimOp::Create,
        SimOp::Get,
        SimOp::List,
        SimOp::Update,
        SimOp::Enable,
        SimOp::Disable,
        SimOp::Reset,
        SimOp::Delete,
        SimOp::Subscription,
        SimOp::Choices,
        SimOp::Any,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SimOp::Auth => "auth",
            SimOp::Create => "create",
            SimOp::Get => "get",
            SimOp::List => "list",
            SimOp::Update => "update",
            SimOp::Enable => "enable",
            SimOp::Disable => "disable",
            SimOp::Reset => "reset",
            SimOp::Delete => "delete",
            SimOp::Subscription => "subscription",
            SimOp::Choices => "choices",
            SimOp::Any => "any",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for SimOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SimOp {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        SimOp::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| anyhow::anyhow!("unknown op {s:?}"))
    }
}

/// What a request suffers instead of (or before) its normal answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    Http500,
    /// Hold the request ~60 s, then answer 504 (clients time out first).
    Timeout,
    /// Delay, then answer normally.
    Slow(Duration),
    /// 200 with a body that is not JSON (a proxy's error page).
    Garbage,
    /// A reset answers success but changes nothing; other operations ignore it.
    ResetNoop,
    /// Close the connection without answering.
    Drop,
}

impl Fault {
    /// Parses the control endpoint's names; `delay_ms` only matters for `slow`.
    pub fn parse(name: &str, delay_ms: Option<u64>) -> anyhow::Result<Fault> {
        let n = name.trim().to_ascii_lowercase().replace(['-', '_'], "");
        Ok(match n.as_str() {
            "http500" | "500" => Fault::Http500,
            "timeout" => Fault::Timeout,
            "slow" => Fault::Slow(Duration::from_millis(delay_ms.unwrap_or(1000))),
            "garbage" => Fault::Garbage,
            "resetnoop" => Fault::ResetNoop,
            "drop" => Fault::Drop,
            _ => anyhow::bail!("unknown fault {name:?}"),
        })
    }

    fn applies_to(&self, op: SimOp) -> bool {
        match self {
            Fault::ResetNoop => op == SimOp::Reset,
            _ => true,
        }
    }
}

struct Rule {
    op: SimOp,
    fault: Fault,
    remaining: Option<u32>,
}

#[derive(Default)]
pub(crate) struct FaultTable {
    rules: Vec<Rule>,
}

impl FaultTable {
    pub fn add(&mut self, op: SimOp, fault: Fault, times: Option<u32>) {
        if times == Some(0) {
            return;
        }
        self.rules.push(Rule {
            op,
            fault,
            remaining: times,
        });
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault the next `op` request suffers, consuming one use of the first matching rule.
    pub fn take(&mut self, op: SimOp) -> Option<Fault> {
        let i = self
            .rules
            .iter()
            .position(|r| (r.op == op || r.op == SimOp::Any) && r.fault.applies_to(op))?;
        let rule = &mut self.rules[i];
        let fault = rule.fault.clone();
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
            if *n == 0 {
                self.rules.remove(i);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rules_run_out_and_any_matches() {
        let mut t = FaultTable::default();
        t.add(SimOp::Get, Fault::Http500, Some(2));
        t.add(SimOp::Any, Fault::Garbage, None);
        assert_eq!(t.take(SimOp::Get), Some(Fault::Http500));
        assert_eq!(t.take(SimOp::Get), Some(Fault::Http500));
        assert_eq!(t.take(SimOp::Get), Some(Fault::Garbage));
        assert_eq!(t.take(SimOp::List), Some(Fault::Garbage));
        t.clear();
        assert_eq!(t.take(SimOp::List), None);
    }

    #[test]
    fn reset_noop_only_hits_resets() {
        let mut t = FaultTable::default();
        t.add(SimOp::Any, Fault::ResetNoop, Some(1));
        assert_eq!(t.take(SimOp::Get), None);
        assert_eq!(t.take(SimOp::Reset), Some(Fault::ResetNoop));
        assert_eq!(t.take(SimOp::Reset), None);
    }

    #[test]
    fn names_round_trip() {
        for op in SimOp::ALL {
            assert_eq!(op.to_string().parse::<SimOp>().unwrap(), op);
        }
        assert_eq!(
            Fault::parse("slow", Some(5)).unwrap(),
            Fault::Slow(Duration::from_millis(5))
        );
        assert_eq!(Fault::parse("reset_noop", None).unwrap(), Fault::ResetNoop);
    }
}
