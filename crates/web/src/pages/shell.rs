//! The frame every page shares: locale, signed-in user, CSRF token and navigation.
//! Page structs embed a `Shell` so `base.html` can render the layout around them.

use crate::auth::CurrentUser;
use crate::locale::Locale;

pub struct NavItem {
    pub href: &'static str,
    pub label_key: &'static str,
}

pub struct Shell {
    pub loc: Locale,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    /// The current path, for the language links and the active menu item.
    pub path: String,
    pub title_key: &'static str,
}

const ADMIN_NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label_key: "nav.dashboard",
    },
    NavItem {
        href: "/tokens",
        label_key: "nav.tokens",
    },
];

const RESELLER_NAV: &[NavItem] = &[
    NavItem {
        href: "/",
        label_key: "nav.dashboard",
    },
    NavItem {
        href: "/tokens",
        label_key: "nav.tokens",
    },
];

impl Shell {
    pub fn new(
        loc: Locale,
        user: Option<CurrentUser>,
        path: &str,
        title_key: &'static str,
    ) -> Shell {
        let csrf = user
            .as_ref()
            .and_then(|u| u.csrf.clone())
            .unwrap_or_default();
        Shell {
            loc,
            user,
            csrf,
            path: path.to_string(),
            title_key,
        }
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.loc.t(key)
    }

    pub fn nav(&self) -> &'static [NavItem] {
        match &self.user {
            Some(u) if u.is_admin() => ADMIN_NAV,
            Some(_) => RESELLER_NAV,
            None => &[],
        }
    }

    pub fn is_current(&self, href: &str) -> bool {
        if href == "/" {
            self.path == "/"
        } else {
            self.path.starts_with(href)
        }
    }

    pub fn username(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.username.as_str())
            .unwrap_or("")
    }

    pub fn role_key(&self) -> &'static str {
        match &self.user {
            Some(u) if u.is_admin() => "role.admin",
            _ => "role.reseller",
        }
    }
}
