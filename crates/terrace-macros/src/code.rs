//! `#[migration]`: wrap a function in a `CodeFn` with the checksum of its tokens.

use crate::canonical;
use proc_macro::{Delimiter, Literal, TokenStream, TokenTree};

pub(crate) fn expand(item: TokenStream) -> Result<TokenStream, String> {
    let tokens: Vec<TokenTree> = item.into_iter().collect();
    let mut at = 0;
    let mut docs = TokenStream::new();
    // Outer attributes: `#` followed by a bracketed group.
    while let (Some(TokenTree::Punct(p)), Some(TokenTree::Group(g))) =
        (tokens.get(at), tokens.get(at + 1))
    {
        if p.as_char() != '#' || g.delimiter() != Delimiter::Bracket {
            break;
        }
        if matches!(g.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i.to_string() == "doc")
        {
            docs.extend(tokens[at..at + 2].iter().cloned());
        }
        at += 2;
    }
    let attributes_end = at;
    // Visibility: `pub` or `pub(...)`.
    if matches!(tokens.get(at), Some(TokenTree::Ident(i)) if i.to_string() == "pub") {
        at += 1;
        if matches!(tokens.get(at), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
        {
            at += 1;
        }
    }
    let visibility: TokenStream = tokens[attributes_end..at].iter().cloned().collect();
    let fn_start = at;
    match tokens.get(at) {
        Some(TokenTree::Ident(i)) if i.to_string() == "fn" => {}
        _ => {
            return Err("#[migration] goes on a plain `fn name(db: &mut terrace::Db<'_>) -> terrace::CodeResult` (not async, const or unsafe)".to_owned());
        }
    }
    let name = match tokens.get(at + 1) {
        Some(TokenTree::Ident(name)) => name.to_string(),
        _ => return Err("#[migration]: expected the function's name after `fn`".to_owned()),
    };
    let attributes: TokenStream = tokens[..attributes_end].iter().cloned().collect();
    let function: TokenStream = tokens[fn_start..].iter().cloned().collect();
    // The checksum covers the parameters, return type and body: not the attributes,
    // the visibility or the name, none of which changes what the migration does.
    let mut text = String::new();
    canonical(tokens[fn_start + 2..].iter().cloned().collect(), &mut text);
    let checksum = terrace_format::checksum(&text);
    let code = format!(
        "{docs} #[allow(non_upper_case_globals)] {visibility} const {name}: ::terrace::CodeFn = {{ \
            {attributes} {function} \
            ::terrace::CodeFn::new({name}, {checksum}) \
         }};",
        checksum = Literal::string(&checksum),
    );
    code.parse()
        .map_err(|e| format!("internal error expanding #[migration]: {e:?}"))
}
