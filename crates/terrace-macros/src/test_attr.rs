//! `#[terrace::test]`: a test that gets a freshly migrated database of its own.
//!
//! Parse (the arguments, then the function) → check → expand. The parameter's type is
//! not matched by name here: the expansion hands it to
//! `terrace::testing::Builder::run` (a plain `fn`) or `Builder::run_async` (an `async
//! fn`), whose `TestConnection` or `AsyncTestConnection` bound picks the backend and
//! rejects an unknown type with a message of its own, pointing at the type.

use proc_macro::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

/// What the attribute's arguments say.
struct Arguments {
    /// The expression after `migrations =`.
    migrations: TokenStream,
    /// The variable named by `url_env = "…"`, if any.
    url_env: Option<Literal>,
}

/// The test function, in pieces.
struct TestFn {
    /// Its attributes (doc comments, `#[ignore]`, `#[should_panic]`, lint levels).
    attributes: TokenStream,
    visibility: TokenStream,
    asyncness: Option<Span>,
    name: Ident,
    /// The parameter's pattern (usually a name).
    pattern: TokenStream,
    /// The parameter's type, without its `&mut` (and lifetime).
    connection: TokenStream,
    /// Whether the parameter is `&mut …` (else the type is taken by value).
    lent: bool,
    /// `-> Type`, or nothing.
    output: TokenStream,
    body: Group,
}

/// An error at a place in the user's code.
struct Error {
    message: String,
    span: Span,
}

fn error(message: impl Into<String>, span: Span) -> Error {
    Error {
        message: message.into(),
        span,
    }
}

const USAGE: &str = "#[terrace::test(migrations = MIGRATIONS)] fn name(conn: &mut rusqlite::Connection) { … } \
     (or &mut postgres::Client, &mut mysql::Conn, &mut terrace::Connection, diesel's \
     &mut SqliteConnection, &mut PgConnection, &mut MysqlConnection), or \
     async fn name(pool: sqlx::SqlitePool) { … } (or sqlx::PgPool, sqlx::MySqlPool, \
     &mut sqlx::SqliteConnection, &mut sqlx::PgConnection, &mut sqlx::MySqlConnection)";

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = parse_arguments(attr).and_then(|args| Ok((args, parse_fn(item)?)));
    match parsed {
        Ok((args, test)) => expand_test(&args, test),
        Err(e) => compile_error_at(&e.message, e.span),
    }
}

fn is_punct(token: Option<&TokenTree>, c: char) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn is_ident(token: Option<&TokenTree>, name: &str) -> bool {
    matches!(token, Some(TokenTree::Ident(i)) if i.to_string() == name)
}

/// Splits tokens at the commas outside any group.
fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut parts = vec![Vec::new()];
    for token in tokens {
        if is_punct(Some(&token), ',') {
            parts.push(Vec::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(token);
        }
    }
    if parts.last().is_some_and(Vec::is_empty) {
        parts.pop();
    }
    parts
}

fn parse_arguments(attr: TokenStream) -> Result<Arguments, Error> {
    let mut migrations = None;
    let mut url_env = None;
    for part in split_commas(attr) {
        let span = part.first().map_or_else(Span::call_site, TokenTree::span);
        let key = match (part.first(), part.get(1)) {
            (Some(TokenTree::Ident(key)), Some(TokenTree::Punct(eq))) if eq.as_char() == '=' => {
                key.to_string()
            }
            _ => {
                return Err(error(
                    format!("#[terrace::test]: expected `key = value`; usage: {USAGE}"),
                    span,
                ));
            }
        };
        let value: Vec<TokenTree> = part[2..].to_vec();
        if value.is_empty() {
            return Err(error(
                format!("#[terrace::test]: `{key} =` needs a value"),
                span,
            ));
        }
        let duplicate = || error(format!("#[terrace::test]: `{key}` is given twice"), span);
        match key.as_str() {
            "migrations" => {
                if migrations.is_some() {
                    return Err(duplicate());
                }
                migrations = Some(value.into_iter().collect());
            }
            "url_env" => {
                if url_env.is_some() {
                    return Err(duplicate());
                }
                url_env = Some(string_literal(&value).ok_or_else(|| {
                    error(
                        "#[terrace::test]: `url_env` takes the variable's name as a string, \
                         such as url_env = \"TEST_DATABASE_URL\"",
                        span,
                    )
                })?);
            }
            other => {
                return Err(error(
                    format!(
                        "#[terrace::test]: unknown argument `{other}`; it takes `migrations = …` \
                         and optionally `url_env = \"VARIABLE\"`"
                    ),
                    span,
                ));
            }
        }
    }
    let migrations = migrations.ok_or_else(|| {
        error(
            format!(
                "#[terrace::test] needs the migrations to apply: `migrations = MIGRATIONS`, a \
                 `terrace::Migrations`; usage: {USAGE}"
            ),
            Span::call_site(),
        )
    })?;
    Ok(Arguments {
        migrations,
        url_env,
    })
}

/// A plain string literal (not raw, no escapes), as written.
fn string_literal(tokens: &[TokenTree]) -> Option<Literal> {
    match tokens {
        [TokenTree::Literal(literal)] => {
            let text = literal.to_string();
            let inner = text.strip_prefix('"')?.strip_suffix('"')?;
            (!inner.is_empty() && !inner.contains('\\')).then(|| literal.clone())
        }
        [TokenTree::Group(group)] if group.delimiter() == Delimiter::None => {
            string_literal(&group.stream().into_iter().collect::<Vec<_>>())
        }
        _ => None,
    }
}

fn parse_fn(item: TokenStream) -> Result<TestFn, Error> {
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let mut at = 0;
    // Outer attributes: `#` and a bracketed group.
    while is_punct(tokens.get(at), '#') {
        match tokens.get(at + 1) {
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Bracket => {
                if is_ident(g.stream().into_iter().next().as_ref(), "test") {
                    return Err(error(
                        "#[terrace::test] already makes the function a test: remove #[test]",
                        g.span(),
                    ));
                }
                at += 2;
            }
            _ => break,
        }
    }
    let attributes = tokens[..at].iter().cloned().collect();
    let visibility_start = at;
    if is_ident(tokens.get(at), "pub") {
        at += 1;
        if matches!(tokens.get(at), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
        {
            at += 1;
        }
    }
    let visibility = tokens[visibility_start..at].iter().cloned().collect();
    let mut asyncness = None;
    while let Some(TokenTree::Ident(word)) = tokens.get(at) {
        match word.to_string().as_str() {
            "fn" => break,
            "async" => asyncness = Some(word.span()),
            other => {
                return Err(error(
                    format!("#[terrace::test] goes on a plain fn, not a `{other}` one"),
                    word.span(),
                ));
            }
        }
        at += 1;
    }
    let fn_span = tokens.get(at).map_or_else(Span::call_site, TokenTree::span);
    if !is_ident(tokens.get(at), "fn") {
        return Err(error(
            format!("#[terrace::test] goes on a function: {USAGE}"),
            fn_span,
        ));
    }
    let name = match tokens.get(at + 1) {
        Some(TokenTree::Ident(name)) => name.clone(),
        _ => return Err(error("expected the function's name after `fn`", fn_span)),
    };
    at += 2;
    if is_punct(tokens.get(at), '<') {
        return Err(error(
            "#[terrace::test]: a test function cannot be generic",
            tokens[at].span(),
        ));
    }
    let (pattern, connection, lent) = match tokens.get(at) {
        Some(TokenTree::Group(params)) if params.delimiter() == Delimiter::Parenthesis => {
            parse_parameter(params, asyncness.is_some())?
        }
        _ => return Err(error("expected the function's parameter list", name.span())),
    };
    at += 1;
    let Some(TokenTree::Group(body)) = tokens.last() else {
        return Err(error("expected the function's body", name.span()));
    };
    if body.delimiter() != Delimiter::Brace || at >= tokens.len() {
        return Err(error("expected the function's body", name.span()));
    }
    let output: Vec<TokenTree> = tokens[at..tokens.len() - 1].to_vec();
    if let Some(word) = output.iter().find(|t| is_ident(Some(t), "where")) {
        return Err(error(
            "#[terrace::test]: a test function cannot have a where clause",
            word.span(),
        ));
    }
    let arrow = is_punct(output.first(), '-') && is_punct(output.get(1), '>');
    if !output.is_empty() && !arrow {
        return Err(error(
            "expected `-> Type` or the function's body",
            output[0].span(),
        ));
    }
    Ok(TestFn {
        attributes,
        visibility,
        asyncness,
        name,
        pattern,
        connection,
        lent,
        output: output.into_iter().collect(),
        body: body.clone(),
    })
}

/// The one parameter `pattern: &mut Type` (or, in an `async fn`, `pattern: Type`), as
/// its pattern, its type and whether it is lent.
fn parse_parameter(
    params: &Group,
    asyncness: bool,
) -> Result<(TokenStream, TokenStream, bool), Error> {
    let parts = split_commas(params.stream());
    let [param] = parts.as_slice() else {
        return Err(error(
            format!(
                "#[terrace::test] hands the test one connection, so the function takes one \
                 parameter: {USAGE}"
            ),
            params.span(),
        ));
    };
    // The pattern ends at the first `:` that is not half of a `::`.
    let colon = param.iter().enumerate().position(|(i, t)| {
        matches!(t, TokenTree::Punct(p) if p.as_char() == ':' && p.spacing() == Spacing::Alone)
            && !(i > 0 && matches!(&param[i - 1], TokenTree::Punct(p) if p.as_char() == ':' && p.spacing() == Spacing::Joint))
    });
    let Some(colon) = colon else {
        return Err(error("expected `name: &mut Type`", params.span()));
    };
    let pattern = param[..colon].iter().cloned().collect();
    let ty = &param[colon + 1..];
    let mut at = 0;
    let reference = is_punct(ty.first(), '&');
    if reference {
        at += 1;
        // A lifetime: `'` joined to a name.
        if is_punct(ty.get(at), '\'') {
            at += 2;
        }
    }
    if !reference && asyncness && !ty.is_empty() {
        // A pool by value; the expansion's bound refuses any other type.
        return Ok((pattern, ty.iter().cloned().collect(), false));
    }
    if !reference || !is_ident(ty.get(at), "mut") || ty.len() <= at + 1 {
        let span = ty.first().map_or_else(|| params.span(), TokenTree::span);
        return Err(error(
            format!(
                "the test's connection is lent to it: the parameter's type must be `&mut …` \
                 (only an async fn takes an sqlx pool by value): {USAGE}"
            ),
            span,
        ));
    }
    Ok((pattern, ty[at + 1..].iter().cloned().collect(), true))
}

/// Ordinary Rust from text (spans at the attribute).
fn code(text: &str) -> TokenStream {
    text.parse()
        .expect("the expansion's fixed parts are valid Rust")
}

/// The test as a `#[test]` function: the body becomes an inner function of the same
/// name, run by `terrace::testing::Builder::run` (or, for an `async fn`, `run_async`,
/// on a runtime of its own), which makes the database before it and removes it after
/// it, also when it panics.
fn expand_test(args: &Arguments, test: TestFn) -> TokenStream {
    let TestFn {
        attributes,
        visibility,
        asyncness,
        name,
        pattern,
        connection,
        lent,
        output,
        body,
    } = test;
    let mut builder = code("::terrace::testing::TestDb::builder()");
    if let Some(variable) = &args.url_env {
        builder.extend(code(".url_env"));
        builder.extend([TokenTree::Group(Group::new(
            Delimiter::Parenthesis,
            TokenStream::from(TokenTree::Literal(variable.clone())),
        ))]);
    }
    // [async] fn name(pattern: &mut Connection) -> Output { body }
    let mut inner = TokenStream::new();
    if let Some(span) = asyncness {
        inner.extend([TokenTree::Ident(Ident::new("async", span))]);
    }
    inner.extend(code("fn"));
    inner.extend([TokenTree::Ident(name.clone())]);
    let mut parameter = pattern;
    parameter.extend(code(if lent { ": &mut" } else { ":" }));
    parameter.extend(connection.clone());
    inner.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        parameter,
    ))]);
    inner.extend(output.clone());
    inner.extend([TokenTree::Group(body)]);
    // builder.run::<Connection, _>(&(migrations), name), or
    // builder.run_async::<Connection, _>(&(migrations), |conn| Box::pin(name(conn)))
    let mut call = builder;
    call.extend(code(if asyncness.is_some() {
        ".run_async::<"
    } else {
        ".run::<"
    }));
    call.extend(connection.clone());
    call.extend(code(", _>"));
    // `&(migrations)`, spanned at the expression so a type error points there.
    let span = args
        .migrations
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span());
    let mut borrow = Punct::new('&', Spacing::Alone);
    borrow.set_span(span);
    let mut migrations = Group::new(Delimiter::Parenthesis, args.migrations.clone());
    migrations.set_span(span);
    let mut call_args: TokenStream = [TokenTree::Punct(borrow), TokenTree::Group(migrations)]
        .into_iter()
        .collect();
    call_args.extend([TokenTree::Punct(Punct::new(',', Spacing::Alone))]);
    if asyncness.is_some() {
        call_args.extend(async_test(&name, connection, lent));
    } else {
        call_args.extend([TokenTree::Ident(name.clone())]);
    }
    call.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        call_args,
    ))]);

    let mut outer_body = inner;
    outer_body.extend(call);
    let mut out = attributes;
    out.extend(code("#[::core::prelude::v1::test]"));
    out.extend(visibility);
    out.extend(code("fn"));
    out.extend([TokenTree::Ident(name)]);
    out.extend([TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        TokenStream::new(),
    ))]);
    out.extend(output);
    out.extend([TokenTree::Group(Group::new(Delimiter::Brace, outer_body))]);
    out
}

/// The closure `run_async` calls: `|conn| Box::pin(name(conn))`, the connection lent
/// to the test, or for a pool taken by value, a clone of it, through `TestPool` (whose
/// bound refuses, pointing at the type, anything but a pool by value).
fn async_test(name: &Ident, connection: TokenStream, lent: bool) -> TokenStream {
    let mut argument = if lent {
        code("__terrace_conn")
    } else {
        let mut handle = code("<");
        handle.extend(connection);
        handle.extend(code(
            " as ::terrace::testing::TestPool>::handle(__terrace_conn)",
        ));
        handle
    };
    argument = TokenStream::from(TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        argument,
    )));
    let mut call = TokenStream::from(TokenTree::Ident(name.clone()));
    call.extend(argument);
    let mut closure = code("|__terrace_conn| ::std::boxed::Box::pin");
    closure.extend([TokenTree::Group(Group::new(Delimiter::Parenthesis, call))]);
    closure
}

/// A `compile_error!` pointing at `span`, in braces so it stands where an item does.
fn compile_error_at(message: &str, span: Span) -> TokenStream {
    let mut message = Literal::string(message);
    message.set_span(span);
    let tokens: Vec<TokenTree> = vec![
        TokenTree::Punct(Punct::new(':', Spacing::Joint)),
        TokenTree::Punct(Punct::new(':', Spacing::Alone)),
        TokenTree::Ident(Ident::new("core", span)),
        TokenTree::Punct(Punct::new(':', Spacing::Joint)),
        TokenTree::Punct(Punct::new(':', Spacing::Alone)),
        TokenTree::Ident(Ident::new("compile_error", span)),
        TokenTree::Punct(Punct::new('!', Spacing::Alone)),
        TokenTree::Group(Group::new(
            Delimiter::Brace,
            TokenStream::from(TokenTree::Literal(message)),
        )),
    ];
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}
