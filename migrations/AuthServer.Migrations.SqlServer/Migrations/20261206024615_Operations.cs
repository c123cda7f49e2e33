using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AuthServer.Migrations.SqlServer.Migrations
{
    /// <inheritdoc />
    public partial class Operations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_ServerKeys_Purpose",
                table: "ServerKeys");

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "ActivatesAt",
                table: "ServerKeys",
                type: "datetimeoffset",
                nullable: false,
                defaultValue: new DateTimeOffset(new DateTime(1, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified), new TimeSpan(0, 0, 0, 0, 0)));

            migrationBuilder.AddColumn<int>(
                name: "Generation",
                table: "ServerKeys",
                type: "int",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "RevokedAt",
                table: "ServerKeys",
                type: "datetimeoffset",
                nullable: true);

            // Keys made before rotation existed: each its own generation, active since it was made.
            migrationBuilder.Sql("UPDATE ServerKeys SET Generation = Id, ActivatesAt = CreatedAt;");

            migrationBuilder.CreateTable(
                name: "Leases",
                columns: table => new
                {
                    Name = table.Column<string>(type: "nvarchar(64)", maxLength: 64, nullable: false),
                    Holder = table.Column<string>(type: "nvarchar(200)", maxLength: 200, nullable: false),
                    ExpiresAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Leases", x => x.Name);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ServerKeys_Purpose_Generation",
                table: "ServerKeys",
                columns: new[] { "Purpose", "Generation" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Leases");

            migrationBuilder.DropIndex(
                name: "IX_ServerKeys_Purpose_Generation",
                table: "ServerKeys");

            migrationBuilder.DropColumn(
                name: "ActivatesAt",
                table: "ServerKeys");

            migrationBuilder.DropColumn(
                name: "Generation",
                table: "ServerKeys");

            migrationBuilder.DropColumn(
                name: "RevokedAt",
                table: "ServerKeys");

            migrationBuilder.CreateIndex(
                name: "IX_ServerKeys_Purpose",
                table: "ServerKeys",
                column: "Purpose");
        }
    }
}
