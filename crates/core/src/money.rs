//! Assets and exact amounts. Amounts are decimal strings on the wire and `Decimal`
//! inside, never floats. Also the holdings model the deletion gate (R4) reads, and the
//! rule that turns holdings into blockers.

use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

/// Assets the ledger knows, with their decimal places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRegistry(BTreeMap<String, u32>);

impl Default for AssetRegistry {
    fn default() -> Self {
        Self(BTreeMap::from([
            ("BTC".to_owned(), 8),
            ("ETH".to_owned(), 18),
            ("USDT".to_owned(), 6),
        ]))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("is not a number; send a decimal string such as \"12.5\"")]
    NotANumber,
    #[error("must be more than 0")]
    NotPositive,
    #[error("has more than {0} decimal places, the most this asset has")]
    TooManyDecimals(u32),
    #[error("is larger than any possible balance")]
    TooLarge,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssetError {
    #[error("is not an asset this exchange holds")]
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("is not a valid {0} address (check its length and characters)")]
    Invalid(String),
}

impl AssetRegistry {
    pub fn new(assets: BTreeMap<String, u32>) -> Self {
        Self(assets)
    }

    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The canonical code (upper case) and its decimals.
    pub fn asset(&self, code: &str) -> Result<(String, u32), AssetError> {
        let upper = code.trim().to_uppercase();
        self.0
            .get(&upper)
            .map(|d| (upper.clone(), *d))
            .ok_or(AssetError::Unknown)
    }

    /// Parses a positive amount of `asset` with no more decimals than the asset has.
    pub fn amount(&self, asset: &str, text: &str) -> Result<Decimal, AmountError> {
        let decimals = self.0.get(asset).copied().unwrap_or(0);
        parse_amount(text, decimals)
    }

    /// Length and character checks per asset family; the wallet system does the rest.
    pub fn validate_address(&self, asset: &str, address: &str) -> Result<(), AddressError> {
        let a = address.trim();
        let ok = match asset {
            // Base58 (legacy) or bech32 (bc1...) addresses.
            "BTC" => {
                let bech32 = a.len() >= 14
                    && a.len() <= 74
                    && a.to_lowercase().starts_with("bc1")
                    && a[3..].chars().all(|c| {
                        c.is_ascii_alphanumeric() && !"1bio".contains(c.to_ascii_lowercase())
                    });
                let base58 = (26..=35).contains(&a.len())
                    && (a.starts_with('1') || a.starts_with('3'))
                    && a.chars()
                        .all(|c| c.is_ascii_alphanumeric() && !"0OIl".contains(c));
                bech32 || base58
            }
            // Ethereum-style: 0x and 40 hex digits.
            "ETH" | "USDT" => {
                a.len() == 42
                    && a.starts_with("0x")
                    && a[2..].chars().all(|c| c.is_ascii_hexdigit())
            }
            _ => {
                (10..=128).contains(&a.len())
                    && a.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '-' || c == '_')
            }
        };
        if ok {
            Ok(())
        } else {
            Err(AddressError::Invalid(asset.to_owned()))
        }
    }
}

pub fn parse_amount(text: &str, decimals: u32) -> Result<Decimal, AmountError> {
    let t = text.trim();
    if t.is_empty()
        || t.len() > 64
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+')
    {
        return Err(AmountError::NotANumber);
    }
    let value = Decimal::from_str(t).map_err(|_| AmountError::NotANumber)?;
    if value <= Decimal::ZERO {
        return Err(AmountError::NotPositive);
    }
    if value.normalize().scale() > decimals {
        return Err(AmountError::TooManyDecimals(decimals));
    }
    if value > max_amount() {
        return Err(AmountError::TooLarge);
    }
    Ok(value.normalize())
}

/// 10^15 units of any asset.
pub fn max_amount() -> Decimal {
    Decimal::from(1_000_000_000_000_000i64)
}

/// What an account still holds, from whichever asset source is configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holdings {
    pub balances: Vec<Balance>,
    pub holds: Vec<Hold>,
    pub pending: Vec<PendingItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Balance {
    pub asset: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hold {
    pub hold_id: String,
    /// `order`, `bot`, or whatever the host reports.
    pub kind: String,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PendingItem {
    /// `deposit` or `withdrawal`.
    pub kind: String,
    pub id: String,
    pub asset: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
}

/// What kind of thing blocks deletion (R4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    Balance,
    PendingDeposit,
    PendingWithdrawal,
    Hold,
}

/// What the person does to clear a blocker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockerAction {
    /// Withdraw the balance.
    Withdraw,
    /// Wait until the pending deposit or withdrawal settles.
    Wait,
    /// Close the order or bot on the exchange that holds the funds.
    CloseOnExchange,
}

impl BlockerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockerKind::Balance => "balance",
            BlockerKind::PendingDeposit => "pending_deposit",
            BlockerKind::PendingWithdrawal => "pending_withdrawal",
            BlockerKind::Hold => "hold",
        }
    }

    pub fn action(self) -> BlockerAction {
        match self {
            BlockerKind::Balance => BlockerAction::Withdraw,
            BlockerKind::PendingDeposit | BlockerKind::PendingWithdrawal => BlockerAction::Wait,
            BlockerKind::Hold => BlockerAction::CloseOnExchange,
        }
    }
}

impl BlockerAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockerAction::Withdraw => "withdraw",
            BlockerAction::Wait => "wait",
            BlockerAction::CloseOnExchange => "close_on_exchange",
        }
    }
}

/// One reason the account cannot be deleted yet (R4).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Blocker {
    pub kind: BlockerKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// R4: every balance above its dust threshold, every pending item and every hold blocks.
pub fn blockers(holdings: &Holdings, dust: &BTreeMap<String, Decimal>) -> Vec<Blocker> {
    let mut out = Vec::new();
    for b in &holdings.balances {
        let threshold = dust.get(&b.asset).copied().unwrap_or(Decimal::ZERO);
        if b.amount > threshold {
            out.push(Blocker {
                kind: BlockerKind::Balance,
                asset: Some(b.asset.clone()),
                amount: Some(b.amount.normalize().to_string()),
                reference: None,
            });
        }
    }
    for p in &holdings.pending {
        let kind = if p.kind == "deposit" {
            BlockerKind::PendingDeposit
        } else {
            BlockerKind::PendingWithdrawal
        };
        out.push(Blocker {
            kind,
            asset: Some(p.asset.clone()),
            amount: Some(p.amount.normalize().to_string()),
            reference: Some(p.id.clone()),
        });
    }
    for h in &holdings.holds {
        out.push(Blocker {
            kind: BlockerKind::Hold,
            asset: None,
            amount: None,
            reference: Some(format!("{}: {}", h.kind, h.reference)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reg() -> AssetRegistry {
        AssetRegistry::default()
    }

    #[test]
    fn bad_amounts_say_why() {
        assert_eq!(reg().amount("BTC", "abc"), Err(AmountError::NotANumber));
        assert_eq!(reg().amount("BTC", "1e5"), Err(AmountError::NotANumber));
        assert_eq!(reg().amount("BTC", ""), Err(AmountError::NotANumber));
        assert_eq!(reg().amount("BTC", "0"), Err(AmountError::NotPositive));
        assert_eq!(reg().amount("BTC", "-1"), Err(AmountError::NotPositive));
        assert_eq!(
            reg().amount("BTC", "0.000000001"),
            Err(AmountError::TooManyDecimals(8))
        );
        assert_eq!(
            reg().amount("USDT", "1.1234567"),
            Err(AmountError::TooManyDecimals(6))
        );
        assert_eq!(
            reg().amount("BTC", "1000000000000000.1"),
            Err(AmountError::TooLarge)
        );
        assert!(reg()
            .amount("BTC", "99999999999999999999999999999999")
            .is_err());
    }

    #[test]
    fn good_amounts_are_exact() {
        assert_eq!(
            reg().amount("BTC", "0.00000001").unwrap().to_string(),
            "0.00000001"
        );
        assert_eq!(
            reg()
                .amount("ETH", "1.500000000000000000")
                .unwrap()
                .to_string(),
            "1.5"
        );
        assert_eq!(
            reg().amount("USDT", " 12.5 ").unwrap(),
            Decimal::new(125, 1)
        );
    }

    #[test]
    fn assets_are_case_insensitive_and_known() {
        assert_eq!(reg().asset("btc").unwrap(), ("BTC".to_owned(), 8));
        assert_eq!(reg().asset("DOGE"), Err(AssetError::Unknown));
    }

    #[test]
    fn addresses_are_checked_per_asset() {
        let r = reg();
        assert!(r
            .validate_address("BTC", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
            .is_ok());
        assert!(r
            .validate_address("BTC", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
            .is_ok());
        assert!(r
            .validate_address("BTC", "0x52908400098527886E0F7030069857D2E4169EE7")
            .is_err());
        assert!(r
            .validate_address("ETH", "0x52908400098527886E0F7030069857D2E4169EE7")
            .is_ok());
        assert!(r.validate_address("ETH", "0x5290840009852788").is_err());
        assert!(r
            .validate_address("USDT", "0xZZ908400098527886E0F7030069857D2E4169EE7")
            .is_err());
    }

    #[test]
    fn blockers_respect_dust_and_list_everything_else() {
        let holdings = Holdings {
            balances: vec![
                Balance {
                    asset: "BTC".into(),
                    amount: Decimal::new(5, 9),
                },
                Balance {
                    asset: "ETH".into(),
                    amount: Decimal::new(2, 0),
                },
                Balance {
                    asset: "USDT".into(),
                    amount: Decimal::ZERO,
                },
            ],
            holds: vec![Hold {
                hold_id: "h1".into(),
                kind: "order".into(),
                reference: "ORD-1".into(),
            }],
            pending: vec![PendingItem {
                kind: "withdrawal".into(),
                id: "w1".into(),
                asset: "BTC".into(),
                amount: Decimal::ONE,
            }],
        };
        let dust = BTreeMap::from([("BTC".to_owned(), Decimal::new(1, 8))]);
        let kinds: Vec<_> = blockers(&holdings, &dust)
            .into_iter()
            .map(|b| (b.kind.as_str(), b.asset))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("balance", Some("ETH".into())),
                ("pending_withdrawal", Some("BTC".into())),
                ("hold", None)
            ]
        );
        assert!(blockers(&Holdings::default(), &dust).is_empty());
    }

    proptest! {
        #[test]
        fn parsed_amounts_round_trip(units in 1u64..10_000_000_000_000, scale in 0u32..=8) {
            let d = Decimal::from_i128_with_scale(i128::from(units), scale);
            let parsed = parse_amount(&d.to_string(), 8).unwrap();
            prop_assert_eq!(parsed, d.normalize());
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = parse_amount(&text, 8);
        }
    }
}
