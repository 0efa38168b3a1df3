"""Writes the benchmark's contract with N procedures twice: as a #[wamp::contract] module
(contract.rs) and as the equivalent contract file (contract.wamp.toml)."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
rs = ['#[wamp::contract(version = "1.0.0", prefix = "com.example.bench")]',
      'pub mod bench {',
      '    /// A record.',
      '    #[derive(wamp::Type)]',
      '    pub struct Record {',
      '        pub id: u64,',
      '        pub name: String,',
      '        pub score: Option<f64>,',
      '        pub tags: Vec<String>,',
      '    }',
      '',
      '    /// A state.',
      '    #[derive(wamp::Type)]',
      '    pub enum State {',
      '        New,',
      '        Running,',
      '        Done,',
      '    }',
      '',
      '    /// Not found.',
      '    #[derive(wamp::Error)]',
      '    #[wamp(uri = ".error.not_found")]',
      '    pub struct NotFound {',
      '        #[kwarg]',
      '        pub id: u64,',
      '    }',
      '']
toml = ['[contract]', 'name = "bench"', 'version = "1.0.0"', 'uri_prefix = "com.example.bench"', '',
        '[types.Record]', 'doc = "A record."',
        'fields = { id = "u64", name = "string", score = "f64?", tags = "list<string>" }', '',
        '[types.State]', 'doc = "A state."', 'enum = ["new", "running", "done"]', '',
        '[errors.NotFound]', 'uri = ".error.not_found"', 'doc = "Not found."', 'kwargs = { id = "u64" }', '']
trait = ['    pub trait Bench {']
for i in range(n):
    t = f'Proc{i}'
    if i % 5 == 0:
        rs += ['    #[derive(wamp::Payload)]', f'    pub struct {t}Progress {{', '        #[kwarg]', '        pub done: u32,', '    }', '']
    if i % 2 == 0:
        rs += ['    #[derive(wamp::Payload)]', f'    pub struct {t}Result {{', '        pub ok: bool,', '        #[kwarg]', '        pub items: Vec<Record>,', '    }', '']
    ctx = f'ctx: Context<{t}Progress>, ' if i % 5 == 0 else ''
    ret = f'{t}Result' if i % 2 == 0 else 'u64'
    attr = 'errors(NotFound)' + ('' if i % 2 == 0 else ', result = "count"')
    trait += [f'        /// Procedure {i}.',
              f'        #[wamp::procedure({attr})]',
              f'        async fn proc_{i}(&self, {ctx}record: Record, count: u32, #[kwarg(default = false)] verbose: Option<bool>, #[kwarg] state: Option<State>) -> {ret};',
              '']
    toml += [f'[procedures.proc_{i}]', f'uri = ".proc_{i}"', f'doc = "Procedure {i}."',
             'args = ["record: Record", "count: u32"]',
             'kwargs = { verbose = { type = "bool?", default = false }, state = "State?" }',
             'result = { args = ["ok: bool"], kwargs = { items = "list<Record>" } }' if i % 2 == 0 else 'result = { args = ["count: u64"] }',
             'errors = ["NotFound"]']
    if i % 5 == 0:
        toml += ['progress = { kwargs = { done = "u32" } }']
    toml += ['']
rs += trait + ['    }', '}', '']
open('contract.rs', 'w').write('\n'.join(rs))
open('contract.wamp.toml', 'w').write('\n'.join(toml))
