package Server::Starter;

# Stands in for Server::Starter when Perl's own test suite should exercise our start_server. It loads the real
# module (the next Server/Starter.pm on @INC) so that server_ports, Guard, _wait3 and the rest stay Perl's, then
# replaces the three entry points: start_server becomes an exec of our script (exec keeps the pid, which the tests
# signal), restart_server and stop_server run our client modes and die as Perl's do when they fail.

use strict;
use warnings;
use Carp ();
use Cwd ();
use File::Basename ();
use File::Spec ();

my $shim_lib;
BEGIN {
    $shim_lib = Cwd::abs_path(File::Basename::dirname(__FILE__) . '/..');
    my ($real) = grep { -f $_ }
        map { "$_/Server/Starter.pm" }
        grep { !ref $_ && (Cwd::abs_path($_) // '') ne $shim_lib } @INC;
    die "Server::Starter shim: the real Server/Starter.pm is not on \@INC\n" unless $real;
    require $real;
}

our $STARTER = $ENV{SERVER_STARTER_BIN}
    || Cwd::abs_path("$shim_lib/../../..") . '/superdaemon/bin/start_server';

# Options that take a value, in the order the script lists them; each becomes --name=value.
my @VALUE_OPTIONS = qw(interval log_file pid_file dir signal_on_hup signal_on_term backlog envdir
                       auto_restart_interval kill_old_delay status_file);

sub _opts {
    return @_ == 1 ? { %{ $_[0] } } : { @_ };
}

sub _flag {
    my $name = shift;
    $name =~ tr/_/-/;
    return "--$name";
}

sub _as_list {
    my $v = shift;
    return () unless defined $v;
    return ref $v ? @$v : ($v);
}

# The command line for our start_server that means what Perl's start_server(%opts) means.
sub command_line {
    my $opts = _opts(@_);
    my @args;
    push @args, "--port=$_" for _as_list($opts->{port});
    push @args, "--path=$_" for _as_list($opts->{path});
    for my $name (@VALUE_OPTIONS) {
        push @args, _flag($name) . "=$opts->{$name}" if defined $opts->{$name};
    }
    push @args, '--enable-auto-restart' if $opts->{enable_auto_restart};
    if ($opts->{daemonize}) {
        push @args, '--daemonize';
        # The function, unlike the script, lets a daemon keep the caller's stderr; the script insists on a log.
        push @args, '--log-file=/dev/fd/2' unless defined $opts->{log_file};
    }
    return @args;
}

{
    no warnings 'redefine';

    *start_server = sub {
        my $opts = _opts(@_);
        Carp::croak("mandatory option ``exec'' is missing or is not an arrayref\n")
            unless $opts->{exec} && ref $opts->{exec} eq 'ARRAY';
        # Perl's function exports a false enable_auto_restart as ENABLE_AUTO_RESTART=0; the script has no way to
        # say it, so it is handed over the same way, through the environment.
        $ENV{ENABLE_AUTO_RESTART} = 0
            if defined $opts->{enable_auto_restart} && !$opts->{enable_auto_restart};
        my @cmd = ($STARTER, command_line($opts), '--', @{ $opts->{exec} });
        exec { $cmd[0] } @cmd;
        die "failed to exec $STARTER:$!\n";
    };

    *restart_server = sub { _client('--restart', @_) };
    *stop_server    = sub { _client('--stop', @_) };
}

sub _client {
    my ($mode, @rest) = @_;
    my $opts = _opts(@rest);
    my @cmd = ($STARTER, $mode);
    push @cmd, "--pid-file=$opts->{pid_file}"       if defined $opts->{pid_file};
    push @cmd, "--status-file=$opts->{status_file}" if defined $opts->{status_file};
    system { $cmd[0] } @cmd;
    die "$mode failed: @cmd: exit status " . ($? >> 8) . ($? & 127 ? ", signal " . ($? & 127) : '') . "\n"
        if $? != 0;
    return;
}

1;
