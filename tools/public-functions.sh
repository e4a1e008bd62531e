#!/bin/sh
# Lists the public functions declared in the given headers (default include/ndpar/*.h), one
# name a line, sorted: every top-level declaration or inline definition of an ndpar_ name
# followed by '('. Function-pointer typedefs and variables are not functions.
# Usage: tools/public-functions.sh [HEADER...]
[ $# -gt 0 ] || set -- include/ndpar/*.h
cat "$@" | perl -0777 -ne '
  s{/\*.*?\*/}{ }gs;                   # comments
  s{//[^\n]*}{}g;
  s{#ifdef __cplusplus.*?#endif}{}gs;  # the extern "C" braces
  s{^\s*#[^\n]*}{}gm;                  # preprocessor lines
  1 while s/\{[^{}]*\}/;/g;            # bodies (struct, enum, inline) end a statement
  for my $st (split /;/) {
    next if $st =~ /\btypedef\b/;
    print "$1\n" if $st =~ /^[\w\s\*]*?\b(ndpar_\w+)\s*\(/s;
  }' | sort -u
