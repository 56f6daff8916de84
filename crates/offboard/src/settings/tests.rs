use super::*;

#[test]
fn defaults_are_dev_on_sqlite() {
    let v = Settings::default().validate().unwrap();
    assert_eq!(v.settings.mode, Mode::Dev);
    assert_eq!(v.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(v.settings.database_url, "sqlite://offboard.db");
    assert_eq!(v.clock, ClockSetting::Dev);
    assert_eq!(v.email_delivery, EmailDelivery::Outbox);
    assert_eq!(
        v.dev_settle_withdrawals,
        Some(Duration::from_secs(15)),
        "dev mode's ledger settles a withdrawal by itself (issue 15)"
    );
}

#[test]
fn errors_name_the_setting() {
    let bad = Settings {
        listen: "nowhere".into(),
        ..Settings::default()
    };
    assert!(bad.validate().unwrap_err().to_string().contains("`listen`"));
    let bad = Settings {
        database_url: "mysql://x".into(),
        ..Settings::default()
    };
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("`database_url`"));
    let bad = Settings {
        reregister_days: 0,
        ..Settings::default()
    };
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("`reregister_days`"));
}

#[test]
fn production_refuses_dev_conveniences() {
    let prod = |s: Settings| Settings {
        mode: Mode::Production,
        ..s
    };
    let err = prod(Settings {
        clock: Some(ClockSetting::Dev),
        ..Settings::default()
    })
    .validate()
    .unwrap_err();
    assert!(err.to_string().contains("dev clock"), "{err}");
    let err = prod(Settings {
        email_delivery: Some(EmailDelivery::Outbox),
        ..Settings::default()
    })
    .validate()
    .unwrap_err();
    assert!(err.to_string().contains("dev outbox"), "{err}");
    let live_prod = |s: Settings| Settings {
        mode: Mode::Production,
        keys_file: Some(PathBuf::from("/etc/offboard/keys.json")),
        smtp_host: Some("smtp.example.com".into()),
        smtp_from: Some("no-reply@example.com".into()),
        rp_id: Some("example.com".into()),
        rp_origin: Some("https://accounts.example.com".into()),
        ..s
    };
    let err = live_prod(Settings {
        dev_settle_withdrawals_secs: Some(15),
        ..Settings::default()
    })
    .validate()
    .unwrap_err();
    assert!(
        err.to_string().contains("self-settling withdrawals"),
        "{err}"
    );
    let ok = live_prod(Settings::default()).validate().unwrap();
    assert_eq!(
        ok.dev_settle_withdrawals, None,
        "production never self-settles"
    );
    let err = prod(Settings::default()).validate().unwrap_err();
    assert!(
        err.to_string().contains("refuses generated defaults"),
        "{err}"
    );
}

#[test]
fn production_needs_smtp_and_gets_it() {
    let keyed = Settings {
        mode: Mode::Production,
        keys_file: Some(PathBuf::from("/etc/offboard/keys.json")),
        ..Settings::default()
    };
    let err = keyed.clone().validate().unwrap_err();
    assert!(
        err.to_string().contains("`smtp_host`"),
        "production needs SMTP: {err}"
    );
    let ok = Settings {
        smtp_host: Some("smtp.example.com".into()),
        smtp_from: Some("no-reply@example.com".into()),
        rp_id: Some("example.com".into()),
        rp_origin: Some("https://accounts.example.com".into()),
        ..keyed
    }
    .validate()
    .unwrap();
    assert!(matches!(ok.delivery, Delivery::Live { sms: None, .. }));
}

#[test]
fn sms_providers_need_their_settings() {
    let smtp = |s: Settings| Settings {
        email_delivery: Some(EmailDelivery::Smtp),
        smtp_host: Some("smtp.example.com".into()),
        smtp_from: Some("no-reply@example.com".into()),
        rp_id: Some("example.com".into()),
        rp_origin: Some("https://accounts.example.com".into()),
        ..s
    };
    let err = smtp(Settings {
        sms_provider: SmsProvider::Webhook,
        ..Settings::default()
    })
    .validate()
    .unwrap_err();
    assert!(err.to_string().contains("`sms_url`"), "{err}");
    let err = smtp(Settings {
        sms_provider: SmsProvider::Twilio,
        ..Settings::default()
    })
    .validate()
    .unwrap_err();
    assert!(err.to_string().contains("`twilio_account_sid`"), "{err}");
    let ok = smtp(Settings {
        sms_provider: SmsProvider::Webhook,
        sms_url: Some("https://sms.example/send".into()),
        ..Settings::default()
    })
    .validate()
    .unwrap();
    assert!(matches!(
        ok.delivery,
        Delivery::Live {
            sms: Some(SmsConfig::Webhook { .. }),
            ..
        }
    ));
}

#[test]
fn r16_passkeys_default_to_localhost_in_dev_and_production_refuses_a_missing_or_mismatched_origin()
{
    let dev = Settings {
        listen: "127.0.0.1:9123".into(),
        ..Settings::default()
    }
    .validate()
    .unwrap();
    assert_eq!(dev.passkeys.rp_id, "localhost");
    assert_eq!(dev.passkeys.rp_origin, "http://localhost:9123");
    let prod = |rp_id: Option<&str>, rp_origin: Option<&str>| {
        Settings {
            mode: Mode::Production,
            keys_file: Some(PathBuf::from("/etc/offboard/keys.json")),
            smtp_host: Some("smtp.example.com".into()),
            smtp_from: Some("no-reply@example.com".into()),
            rp_id: rp_id.map(str::to_owned),
            rp_origin: rp_origin.map(str::to_owned),
            ..Settings::default()
        }
        .validate()
    };
    for (id, origin, named) in [
        (None, Some("https://accounts.example.com"), "`rp_id`"),
        (Some("example.com"), None, "`rp_origin`"),
        (
            Some("example.com"),
            Some("http://accounts.example.com"),
            "https",
        ),
        (
            Some("example.com"),
            Some("https://accounts.other.com"),
            "parent domain",
        ),
        (
            Some("ample.com"),
            Some("https://example.com"),
            "parent domain",
        ),
        (
            Some("example.com"),
            Some("https://example.com/login"),
            "without a path",
        ),
    ] {
        let err = prod(id, origin).unwrap_err().to_string();
        assert!(err.contains(named), "{id:?} {origin:?}: {err}");
    }
    let ok = prod(Some("example.com"), Some("https://accounts.example.com")).unwrap();
    assert_eq!(ok.passkeys.rp_id, "example.com");
}
