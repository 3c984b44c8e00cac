#!/usr/bin/perl
# Writes mxprobe-ipv4-city.mmdb (type mxprobe-IPv4-City): an IPv4-only
# tree with 198.51.100.0/24 in AT, for the lookup of an IPv4-mapped IPv6
# target (::ffff:198.51.100.1) in an IPv4 database.  Debian package
# libmaxmind-db-writer-perl; the file is vendored so the unit tests need
# no Perl.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my %types = (country => 'map', iso_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 4, record_size => 24, database_type => 'mxprobe-IPv4-City',
    languages => ['en'], description => { en => 'mxprobe test data' },
    map_key_type_callback => sub { $types{ $_[0] } },
    remove_reserved_networks => 0);
$tree->insert_network('198.51.100.0/24', { country => { iso_code => 'AT' } });
open my $fh, '>:raw', shift // 'mxprobe-ipv4-city.mmdb' or die "$!\n";
$tree->write_tree($fh);
close $fh or die "$!\n";
