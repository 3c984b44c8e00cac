#!/usr/bin/perl
# Writes mxprobe-bad-coordinates.mmdb (type mxprobe-Bad-City): 127.0.0.0/8
# with latitude 1e300 and longitude -999.5, coordinates off the globe that
# geoip must not show, map or put in the JSON fields; its city name, "xy"
# and 200 e-acute (402 bytes), is cut at 255 bytes, inside a character.
# Debian package libmaxmind-db-writer-perl; the file is vendored so the unit tests need
# no Perl.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my %types = (country => 'map', location => 'map', iso_code => 'utf8_string',
             city => 'map', names => 'map', en => 'utf8_string',
             latitude => 'double', longitude => 'double');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6, record_size => 24, database_type => 'mxprobe-Bad-City',
    languages => ['en'], description => { en => 'mxprobe test data' },
    map_key_type_callback => sub { $types{ $_[0] } },
    remove_reserved_networks => 0);
my $rec = { country => { iso_code => 'DE' },
            city => { names => { en => 'xy' . ("\x{e9}" x 200) } },
            location => { latitude => 1e300, longitude => -999.5 } };
$tree->insert_network('::ffff:127.0.0.0/104', $rec);
$tree->insert_network('::127.0.0.0/104', $rec);
open my $fh, '>:raw', shift // 'mxprobe-bad-coordinates.mmdb' or die "$!\n";
$tree->write_tree($fh);
close $fh or die "$!\n";
