#!/bin/sh
# Prints, for the public functions declared in the given headers (default include/ndpar/*.h),
# a C table of their parameter names: { "ndpar_f", " a b c " }, one a line, sorted by name.
# tests/badinput checks with it that a failing call's last error (ndpar_error_last) names
# one of the called function's arguments. Same parsing as tools/public-functions.sh.
# Usage: tools/public-params.sh [HEADER...]
[ $# -gt 0 ] || set -- include/ndpar/*.h
cat "$@" | perl -0777 -ne '
  s{/\*.*?\*/}{ }gs;
  s{//[^\n]*}{}g;
  s{#ifdef __cplusplus.*?#endif}{}gs;
  s{^\s*#[^\n]*}{}gm;
  1 while s/\{[^{}]*\}/;/g;
  my %seen;
  for my $st (split /;/) {
    next if $st =~ /\btypedef\b/;
    next unless $st =~ /^[\w\s\*]*?\b(ndpar_\w+)\s*\((.*)\)\s*(__attribute__.*)?$/s;
    my ($fn, $args) = ($1, $2);
    next if $seen{$fn}++;
    my (@params, $depth, $cur);
    $depth = 0; $cur = "";
    for my $c (split //, $args) {
      if ($c eq "(") { $depth++ } elsif ($c eq ")") { $depth-- }
      if ($c eq "," && $depth == 0) { push @params, $cur; $cur = ""; next }
      $cur .= $c;
    }
    push @params, $cur;
    my @names;
    for my $p (@params) {
      if ($p =~ /\(\s*\*\s*(\w+)\s*\)/) { push @names, $1; next }
      $p =~ s/\[[^\]]*\]//g;
      push @names, $1 if $p =~ /(\w+)\s*$/ && $1 ne "void";
    }
    print "{\"$fn\", \" @names \"},\n";
  }' | sort
