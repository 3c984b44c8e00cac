#!/usr/bin/perl
# geoip-loopback.pl DIR: writes DIR/loopback-city.mmdb (type
# mxprobe-Loopback-City) and DIR/loopback-asn.mmdb (mxprobe-Loopback-ASN),
# MaxMind DB files that cover 127.0.0.0/8 and ::1, so that geoip runs
# against the loopback test servers get a location: a database that covers
# private ranges wins over "private address".  Debian package
# libmaxmind-db-writer-perl.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $dir = shift // die "usage: $0 DIR\n";
my %types = (
    country                        => 'map',
    city                           => 'map',
    location                       => 'map',
    names                          => 'map',
    iso_code                       => 'utf8_string',
    en                             => 'utf8_string',
    latitude                       => 'double',
    longitude                      => 'double',
    accuracy_radius                => 'uint16',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

sub write_db {
    my ($file, $type, $record) = @_;
    my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 24,
        database_type            => $type,
        languages                => ['en'],
        description              => { en => "mxprobe test data: $type" },
        map_key_type_callback    => sub { $types{ $_[0] } },
        remove_reserved_networks => 0,
    );
    $tree->insert_network('::127.0.0.0/104', $record);
    $tree->insert_network('::ffff:127.0.0.0/104', $record);
    $tree->insert_network('::1/128', $record);
    open my $fh, '>:raw', $file or die "$file: $!\n";
    $tree->write_tree($fh);
    close $fh or die "$file: $!\n";
}

write_db("$dir/loopback-city.mmdb", 'mxprobe-Loopback-City', {
    country  => { iso_code => 'DE', names => { en => 'Germany' } },
    city     => { names => { en => 'Loopback' } },
    location => { latitude => 52.52, longitude => 13.405,
                  accuracy_radius => 5 },
});
write_db("$dir/loopback-asn.mmdb", 'mxprobe-Loopback-ASN', {
    autonomous_system_number       => 64512,
    autonomous_system_organization => 'mxprobe test network',
});
